-- Store version 4: mdl_config, for the site's identifier (Moodle's `siteidentifier`): it
-- tells this store from another made later at the same path, so rows remembered as applied
-- to one are never skipped as unchanged for the other.

CREATE TABLE mdl_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL
);
INSERT INTO mdl_config (name, value) VALUES ('siteidentifier', lower(hex(randomblob(16))));
