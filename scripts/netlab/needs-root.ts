// The lab creates network namespaces, veth pairs and bridges: only root (CAP_NET_ADMIN and
// CAP_SYS_ADMIN) may. Say so plainly rather than fail halfway with an `ip` error.

/** Why the lab cannot run here, or undefined when it can. */
export function whyNotRoot(): string | undefined {
  if (process.platform !== 'linux') return `netlab needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) {
    return 'netlab needs root: it creates network namespaces, veth pairs and bridges (run it as root, e.g. sudo npm run netlab; CI runs as root)';
  }
  return undefined;
}

/** Thrown by runNetlab when not run as root, with whyNotRoot()'s text. */
export class NeedsRootError extends Error {
  override readonly name = 'NeedsRootError';
}
