/**
 * Certificates for tests, made with openssl: a CA, server certificates for 127.0.0.1/localhost
 * and client certificates with a common name, as PEM files in a temporary directory.
 *
 * @module
 */

/** A key pair and certificate on disk. */
export interface CertFiles {
  /** The PEM certificate. */
  readonly certFile: string;
  /** The PEM private key. */
  readonly keyFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A directory of test certificates. */
export class TestPki {
  /** The directory. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** A new, empty directory. */
  static async create(): Promise<TestPki> {
    return new TestPki(await Deno.makeTempDir({ prefix: "ottoscaler-pki-" }));
  }

  /** Makes a self-signed CA named `name`. */
  async ca(name: string): Promise<CertFiles> {
    const certFile = `${this.dir}/${name}.crt`, keyFile = `${this.dir}/${name}.key`;
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], this.dir);
    return { certFile, keyFile };
  }

  /**
   * Issues a certificate signed by `ca` with common name `cn`, under file name `name`: a server
   * certificate for 127.0.0.1 and localhost, or a client certificate.
   */
  async issue(
    ca: CertFiles,
    name: string,
    cn: string,
    usage: "server" | "client",
  ): Promise<CertFiles> {
    const certFile = `${this.dir}/${name}.crt`, keyFile = `${this.dir}/${name}.key`;
    const csr = `${this.dir}/${name}.csr`, ext = `${this.dir}/${name}.ext`;
    await Deno.writeTextFile(
      ext,
      usage === "server"
        ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        : "extendedKeyUsage=clientAuth\n",
    );
    await openssl([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      csr,
      "-subj",
      `/CN=${cn}`,
    ], this.dir);
    await openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.certFile,
      "-CAkey",
      ca.keyFile,
      "-set_serial",
      `0x${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`,
      "-days",
      "2",
      "-extfile",
      ext,
      "-out",
      certFile,
    ], this.dir);
    return { certFile, keyFile };
  }

  /** Removes the directory. */
  async remove(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
