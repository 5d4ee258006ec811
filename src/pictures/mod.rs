//! User pictures: read an untrusted archive (a zip, or a folder) of images named after users,
//! and turn each image into the avatar set Moodle stores (f1, f2, f3).
//!
//! [`archive`] lists and unpacks entries into memory under zip-bomb limits; nothing is ever
//! written to disk. [`avatar`] checks an image's real format and declared size before decoding
//! it, then crops and resizes it the way Moodle's lib/gdlib.php does.

pub mod archive;
pub mod avatar;
pub mod source;
