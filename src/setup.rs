//! Validating settings and presets up front, before anything is opened.

use crate::codes::{Code, Failure};
use crate::config::Config;
use crate::filearea::{self, FileArea};
use crate::preset::Presets;
use std::path::Path;

pub struct Setup {
    pub area: FileArea,
    pub cfg: Config,
    pub presets: Presets,
}

pub fn load(data: &Path) -> Result<Setup, Failure> {
    let area = FileArea::new(data);
    if !area.config_path().is_file() {
        return Err(Failure::new(
            Code::DataFolderMissing,
            format!("{} is not a moosync data folder (no moosync.toml); run `moosync --data {} init` first", data.display(), data.display()),
        ));
    }
    let cfg = Config::load(&area.config_path())?;
    let presets = Presets::load(
        &area.dir(filearea::PRESETS),
        &area.dir(filearea::SCRIPTS),
        &cfg.csv,
    )?;
    Ok(Setup { area, cfg, presets })
}
