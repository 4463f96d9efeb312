// Option value parsers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { formatHostPort, parseHostPort, parseHostPortList, parseInteger, parseList, parseSeconds } from '../../lib/cli/parse.js';

describe('parseHostPort', () => {
  it('host names, IPv4 and bracketed IPv6', () => {
    assert.deepEqual(parseHostPort('peer0.org1.example.com:7051'), { host: 'peer0.org1.example.com', port: 7051 });
    assert.deepEqual(parseHostPort(' 127.0.0.1:1 '), { host: '127.0.0.1', port: 1 });
    assert.deepEqual(parseHostPort('[::1]:65535'), { host: '::1', port: 65535 });
    assert.equal(formatHostPort(parseHostPort('[::1]:7051')), '[::1]:7051');
    assert.deepEqual(parseHostPort('0.0.0.0:0', true), { host: '0.0.0.0', port: 0 });
  });
  for (const bad of ['7051', 'host', 'host:', ':7051', 'host:port', 'a b:1', '::1:7051', 'host:0', 'host:65536', 'host:123456']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseHostPort(bad), InvalidArgumentError);
    });
  }
  it('lists: comma-separated, accumulated over repeats, blanks ignored', () => {
    assert.deepEqual(
      parseHostPortList('b:2', parseHostPortList('a:1, ,c:3')).map(formatHostPort),
      ['a:1', 'c:3', 'b:2'],
    );
    assert.deepEqual(parseList('x,y', ['w']), ['w', 'x', 'y']);
  });
});

describe('numbers', () => {
  it('parseInteger checks the range', () => {
    assert.equal(parseInteger(1, 10)('10'), 10);
    assert.throws(() => parseInteger(1, 10)('11'), /expected 1\.\.10, got 11/);
    assert.throws(() => parseInteger(1)('0'), /expected at least 1, got 0/);
    assert.throws(() => parseInteger(1)('1.5'), /expected an integer/);
  });
  it('parseSeconds takes positive fractions', () => {
    assert.equal(parseSeconds('0.25'), 0.25);
    for (const bad of ['0', '-1', '', 'x', 'Infinity']) assert.throws(() => parseSeconds(bad), InvalidArgumentError);
  });
});
