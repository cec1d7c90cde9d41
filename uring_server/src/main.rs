//! uring_server: to be written (issue 18).
fn main() {}
