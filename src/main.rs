fn main() {
    std::process::exit(moosync::cli::main());
}
