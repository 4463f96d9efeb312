/**
 * The `msp/config.yaml` cryptogen writes with `EnableNodeOUs: true`, byte for byte: it tells
 * Fabric's MSP to classify identities by OU (client/peer/admin/orderer) issued by the org CA.
 * @param caCertFile the CA certificate's file name inside `msp/cacerts/`.
 */
export function nodeOusConfigYaml(caCertFile: string): string {
  const identifier = (ou: string): string =>
    `    Certificate: cacerts/${caCertFile}\n    OrganizationalUnitIdentifier: ${ou}\n`;
  return (
    'NodeOUs:\n' +
    '  Enable: true\n' +
    `  ClientOUIdentifier:\n${identifier('client')}` +
    `  PeerOUIdentifier:\n${identifier('peer')}` +
    `  AdminOUIdentifier:\n${identifier('admin')}` +
    `  OrdererOUIdentifier:\n${identifier('orderer')}`
  );
}
