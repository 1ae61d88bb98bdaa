//! The `cascadesim` command: parses arguments, runs, prints the error chain and maps it to
//! an exit code (0 ok, 1 failure, 2 invalid input). All the work is in `cli` and the library.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
