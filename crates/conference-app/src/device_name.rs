//! Renaming this device. The name is this store's own label for people (the header, the
//! back office); it is not an event and is never synced.
use crate::{App, Result};
use conference_protocol::DeviceView;

impl App {
    /// Gives this device a new name (1 to 100 characters).
    pub fn rename_device(&mut self, name: &str) -> Result<DeviceView> {
        let name = conference_domain::values::required_text("device name", name, 100)?;
        self.device()?;
        self.store.rename_device(&name)?;
        self.device()
    }
}

#[cfg(test)]
mod tests {
    use crate::App;

    #[test]
    fn a_device_takes_a_new_name_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut app = App::open(&path).unwrap();
        app.init("Door 1", chrono::Utc::now()).unwrap();
        let id = app.device().unwrap().device_id;
        let renamed = app.rename_device("  Main entrance ").unwrap();
        assert_eq!(renamed.name, "Main entrance");
        assert_eq!(renamed.device_id, id);
        assert_eq!(app.rename_device(" ").unwrap_err().code(), "empty");
        drop(app);
        assert_eq!(
            App::open(&path).unwrap().device().unwrap().name,
            "Main entrance"
        );
    }
}
