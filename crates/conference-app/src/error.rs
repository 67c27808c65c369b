//! The application's error lives with the execution of commands (`conference_exec`), which
//! the device and the sync server share; the store's errors convert into it there too.
pub use conference_exec::AppError;
pub use conference_exec::error::sentence;
