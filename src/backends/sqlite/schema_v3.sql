-- Store version 3: cohorts, and what user pictures need beside mdl_files (schema v1).

CREATE TABLE mdl_cohort (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contextid INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    idnumber TEXT,
    description TEXT,
    descriptionformat INTEGER NOT NULL DEFAULT 0,
    visible INTEGER NOT NULL DEFAULT 1,
    component TEXT NOT NULL DEFAULT '',
    timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0,
    theme TEXT
);
CREATE INDEX mdl_coho_con_ix ON mdl_cohort (contextid);
-- Feeds find cohorts by idnumber or name; Moodle has no index on either.
CREATE INDEX moosync_cohort_idn_ix ON mdl_cohort (idnumber);
CREATE INDEX moosync_cohort_nam_ix ON mdl_cohort (name);

-- tool_sync's hidden, locked profile field: the MD5 of the last image fed for the user, so a
-- feed can skip unchanged pictures and the sending system can read it back.
INSERT INTO mdl_user_info_field (shortname, name, datatype, categoryid, sortorder, locked, visible)
    VALUES ('userpicturehash', 'User picture hash', 'textarea', 1,
            (SELECT COALESCE(MAX(sortorder), 0) + 1 FROM mdl_user_info_field), 1, 0);
