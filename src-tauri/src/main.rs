//! The desktop box office. All of it is in the library so tests can reach it.
#![forbid(unsafe_code)]

fn main() {
    conference_desktop::run();
}
