// Where `meshward policy` and its subcommands write (CONTROL path): stdout and stderr, or a
// test's lines.

export interface PolicyIo {
  out: (line: string) => void;
  err: (line: string) => void;
}
