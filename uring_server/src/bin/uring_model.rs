//! uring_model: to be written (issue 18).
fn main() {}
