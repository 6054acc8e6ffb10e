/**
 * Throwaway certificates for the TLS tests, made with the openssl command: a CA with a
 * server certificate for 127.0.0.1 and localhost and a client certificate signed by it
 * (makeTestCerts), or one self-signed certificate for 127.0.0.1 (selfSigned).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const openssl = (...args: string[]): void => {
  execFileSync('openssl', args, { stdio: 'ignore' });
};

/** A new 2048-bit RSA key and a certificate for it, signed by itself, valid for 2 days. */
const newSelfSigned = (subject: string, keyFile: string, certFile: string, ...extra: string[]): void =>
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    subject,
    ...extra,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  );

export interface SelfSigned {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  remove(): void;
}

/** A self-signed certificate for 127.0.0.1 only (no DNS name), its own CA. Throws if openssl is missing. */
export function selfSigned(cn = '127.0.0.1'): SelfSigned {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  try {
    newSelfSigned(`/CN=${cn}`, keyFile, certFile, '-addext', 'subjectAltName=IP:127.0.0.1');
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    certFile,
    keyFile,
    cert: fs.readFileSync(certFile),
    key: fs.readFileSync(keyFile),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TestCerts {
  dir: string;
  /** A file of the directory, e.g. file('ca.pem'). */
  file(name: string): string;
  read(name: string): Buffer;
  remove(): void;
}

/** The certificates in a temporary directory, or why they could not be made (no openssl). */
export function makeTestCerts(): TestCerts | { skip: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-tls-'));
  const file = (name: string): string => path.join(dir, name);
  try {
    newSelfSigned('/CN=test-ca', file('ca.key'), file('ca.pem'));
    for (const who of ['server', 'client']) {
      openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${who === 'server' ? 'localhost' : 'pool-bridge'}`,
        '-keyout',
        file(`${who}.key`),
        '-out',
        file(`${who}.csr`),
      );
      fs.writeFileSync(
        file(`${who}.ext`),
        who === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n',
      );
      openssl(
        'x509',
        '-req',
        '-in',
        file(`${who}.csr`),
        '-CA',
        file('ca.pem'),
        '-CAkey',
        file('ca.key'),
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        file(`${who}.ext`),
        '-out',
        file(`${who}.pem`),
      );
    }
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { skip: `no openssl to make test certificates: ${(error as Error).message.split('\n')[0]}` };
  }
  return {
    dir,
    file,
    read: (name) => fs.readFileSync(file(name)),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
