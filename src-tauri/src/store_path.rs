//! Where the store lives: `$CONFERENCE_STORE` when set (tests and demos give each run its
//! own), else `store.db` in the app's data folder.
use conference_protocol::ErrorBody;
use std::path::PathBuf;

pub const ENV: &str = "CONFERENCE_STORE";

pub fn resolve(app_data_dir: Option<PathBuf>) -> Result<PathBuf, ErrorBody> {
    resolve_with(std::env::var_os(ENV).map(PathBuf::from), app_data_dir)
}

fn resolve_with(
    from_env: Option<PathBuf>,
    app_data_dir: Option<PathBuf>,
) -> Result<PathBuf, ErrorBody> {
    if let Some(path) = from_env.filter(|p| !p.as_os_str().is_empty()) {
        return Ok(path);
    }
    app_data_dir
        .map(|dir| dir.join("store.db"))
        .ok_or_else(|| ErrorBody {
            code: "no_data_folder".into(),
            message: format!(
                "This system has no data folder for the app; set {ENV} to the store file to use"
            ),
            field: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_the_data_folder() {
        let path = resolve_with(Some("/tmp/x.db".into()), Some("/data".into())).unwrap();
        assert_eq!(path, PathBuf::from("/tmp/x.db"));
    }

    #[test]
    fn the_data_folder_holds_store_db() {
        let path = resolve_with(None, Some("/data".into())).unwrap();
        assert_eq!(path, PathBuf::from("/data/store.db"));
        let path = resolve_with(Some(PathBuf::new()), Some("/data".into())).unwrap();
        assert_eq!(path, PathBuf::from("/data/store.db"));
    }

    #[test]
    fn no_folder_says_what_to_set() {
        let error = resolve_with(None, None).unwrap_err();
        assert_eq!(error.code, "no_data_folder");
        assert!(error.message.contains(ENV));
    }
}
