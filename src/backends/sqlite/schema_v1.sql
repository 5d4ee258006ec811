-- The embedded store, version 1: Moodle's own table and column names (install.xml) for what
-- users need. Char NOT NULL columns default to '' as Moodle's code always supplies them.
-- Ids use AUTOINCREMENT because Moodle's sequences never hand out an id twice.

CREATE TABLE mdl_context (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contextlevel INTEGER NOT NULL DEFAULT 0,
    instanceid INTEGER NOT NULL DEFAULT 0,
    path TEXT,
    depth INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mdl_cont_conins_uix ON mdl_context (contextlevel, instanceid);
CREATE INDEX mdl_cont_ins_ix ON mdl_context (instanceid);
CREATE INDEX mdl_cont_pat_ix ON mdl_context (path);

CREATE TABLE mdl_user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    auth TEXT NOT NULL DEFAULT 'manual',
    confirmed INTEGER NOT NULL DEFAULT 0,
    policyagreed INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    suspended INTEGER NOT NULL DEFAULT 0,
    mnethostid INTEGER NOT NULL DEFAULT 0,
    username TEXT NOT NULL DEFAULT '',
    password TEXT NOT NULL DEFAULT '',
    idnumber TEXT NOT NULL DEFAULT '',
    firstname TEXT NOT NULL DEFAULT '',
    lastname TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    emailstop INTEGER NOT NULL DEFAULT 0,
    phone1 TEXT NOT NULL DEFAULT '',
    phone2 TEXT NOT NULL DEFAULT '',
    institution TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'en',
    calendartype TEXT NOT NULL DEFAULT 'gregorian',
    theme TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT '99',
    firstaccess INTEGER NOT NULL DEFAULT 0,
    lastaccess INTEGER NOT NULL DEFAULT 0,
    lastlogin INTEGER NOT NULL DEFAULT 0,
    currentlogin INTEGER NOT NULL DEFAULT 0,
    lastip TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL DEFAULT '',
    picture INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    descriptionformat INTEGER NOT NULL DEFAULT 1,
    mailformat INTEGER NOT NULL DEFAULT 1,
    maildigest INTEGER NOT NULL DEFAULT 0,
    maildisplay INTEGER NOT NULL DEFAULT 2,
    autosubscribe INTEGER NOT NULL DEFAULT 1,
    trackforums INTEGER NOT NULL DEFAULT 0,
    timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0,
    trustbitmask INTEGER NOT NULL DEFAULT 0,
    imagealt TEXT,
    lastnamephonetic TEXT,
    firstnamephonetic TEXT,
    middlename TEXT,
    alternatename TEXT,
    moodlenetprofile TEXT
);
CREATE UNIQUE INDEX mdl_user_mneuse_uix ON mdl_user (mnethostid, username);
CREATE INDEX mdl_user_del_ix ON mdl_user (deleted);
CREATE INDEX mdl_user_idn_ix ON mdl_user (idnumber);
-- Moodle's plain index on email is replaced by one on lower(email): Moodle compares emails
-- without case, and one index less is one write less per account.
CREATE INDEX mdl_user_emalow_ix ON mdl_user (lower(email));

CREATE TABLE mdl_user_preferences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    userid INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL DEFAULT '',
    value TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX mdl_userpref_usenam_uix ON mdl_user_preferences (userid, name);

CREATE TABLE mdl_role (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    shortname TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    sortorder INTEGER NOT NULL DEFAULT 0,
    archetype TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX mdl_role_sor_uix ON mdl_role (sortorder);
CREATE UNIQUE INDEX mdl_role_sho_uix ON mdl_role (shortname);

CREATE TABLE mdl_role_assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    roleid INTEGER NOT NULL DEFAULT 0,
    contextid INTEGER NOT NULL DEFAULT 0,
    userid INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0,
    modifierid INTEGER NOT NULL DEFAULT 0,
    component TEXT NOT NULL DEFAULT '',
    itemid INTEGER NOT NULL DEFAULT 0,
    sortorder INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mdl_roleassi_rolcon_ix ON mdl_role_assignments (roleid, contextid);
CREATE INDEX mdl_roleassi_useconrol_ix ON mdl_role_assignments (userid, contextid, roleid);
CREATE INDEX mdl_roleassi_comiteuse_ix ON mdl_role_assignments (component, itemid, userid);

CREATE TABLE mdl_user_enrolments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status INTEGER NOT NULL DEFAULT 0,
    enrolid INTEGER NOT NULL,
    userid INTEGER NOT NULL,
    timestart INTEGER NOT NULL DEFAULT 0,
    timeend INTEGER NOT NULL DEFAULT 2147483647,
    modifierid INTEGER NOT NULL DEFAULT 0,
    timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mdl_userenro_enruse_uix ON mdl_user_enrolments (enrolid, userid);
CREATE INDEX mdl_userenro_use_ix ON mdl_user_enrolments (userid);

CREATE TABLE mdl_cohort_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cohortid INTEGER NOT NULL DEFAULT 0,
    userid INTEGER NOT NULL DEFAULT 0,
    timeadded INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mdl_cohomemb_cohuse_uix ON mdl_cohort_members (cohortid, userid);
CREATE INDEX mdl_cohomemb_use_ix ON mdl_cohort_members (userid);

CREATE TABLE mdl_groups_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    groupid INTEGER NOT NULL DEFAULT 0,
    userid INTEGER NOT NULL DEFAULT 0,
    timeadded INTEGER NOT NULL DEFAULT 0,
    component TEXT NOT NULL DEFAULT '',
    itemid INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mdl_groumemb_usegro_uix ON mdl_groups_members (userid, groupid);

CREATE TABLE mdl_user_info_category (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    sortorder INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE mdl_user_info_field (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shortname TEXT NOT NULL DEFAULT 'shortname',
    name TEXT NOT NULL DEFAULT '',
    datatype TEXT NOT NULL DEFAULT '',
    description TEXT,
    descriptionformat INTEGER NOT NULL DEFAULT 0,
    categoryid INTEGER NOT NULL DEFAULT 0,
    sortorder INTEGER NOT NULL DEFAULT 0,
    required INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    visible INTEGER NOT NULL DEFAULT 0,
    forceunique INTEGER NOT NULL DEFAULT 0,
    signup INTEGER NOT NULL DEFAULT 0,
    defaultdata TEXT,
    defaultdataformat INTEGER NOT NULL DEFAULT 0,
    param1 TEXT, param2 TEXT, param3 TEXT, param4 TEXT, param5 TEXT
);

CREATE TABLE mdl_user_info_data (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    userid INTEGER NOT NULL DEFAULT 0,
    fieldid INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL DEFAULT '',
    dataformat INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mdl_userinfodata_usefie_uix ON mdl_user_info_data (userid, fieldid);

CREATE TABLE mdl_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contenthash TEXT NOT NULL DEFAULT '',
    pathnamehash TEXT NOT NULL DEFAULT '',
    contextid INTEGER NOT NULL,
    component TEXT NOT NULL DEFAULT '',
    filearea TEXT NOT NULL DEFAULT '',
    itemid INTEGER NOT NULL,
    filepath TEXT NOT NULL DEFAULT '',
    filename TEXT NOT NULL DEFAULT '',
    userid INTEGER,
    filesize INTEGER NOT NULL,
    mimetype TEXT,
    status INTEGER NOT NULL DEFAULT 0,
    source TEXT,
    author TEXT,
    license TEXT,
    timecreated INTEGER NOT NULL,
    timemodified INTEGER NOT NULL,
    sortorder INTEGER NOT NULL DEFAULT 0,
    referencefileid INTEGER
);
CREATE UNIQUE INDEX mdl_file_pat_uix ON mdl_files (pathnamehash);
CREATE INDEX mdl_file_comfilconite_ix ON mdl_files (component, filearea, contextid, itemid);
CREATE INDEX mdl_file_con_ix ON mdl_files (contenthash);

-- What a fresh Moodle install holds (lib/db/install.php): the system context, the guest and
-- admin accounts with their contexts, the eight standard roles with id = sortorder.
INSERT INTO mdl_context (id, contextlevel, instanceid, path, depth) VALUES (1, 10, 0, '/1', 1);
INSERT INTO mdl_user (id, auth, confirmed, mnethostid, username, password, firstname, lastname, email, lang, timezone)
    VALUES (1, 'manual', 1, 1, 'guest', '', 'Guest user', ' ', 'root@localhost', 'en', '99');
INSERT INTO mdl_user (id, auth, confirmed, mnethostid, username, password, firstname, lastname, email, lang, timezone)
    VALUES (2, 'manual', 1, 1, 'admin', '', 'Admin', 'User', 'admin@example.invalid', 'en', '99');
INSERT INTO mdl_context (id, contextlevel, instanceid, path, depth) VALUES (2, 30, 1, '/1/2', 2);
INSERT INTO mdl_context (id, contextlevel, instanceid, path, depth) VALUES (3, 30, 2, '/1/3', 2);
INSERT INTO mdl_role (id, shortname, archetype, sortorder) VALUES
    (1, 'manager', 'manager', 1),
    (2, 'coursecreator', 'coursecreator', 2),
    (3, 'editingteacher', 'editingteacher', 3),
    (4, 'teacher', 'teacher', 4),
    (5, 'student', 'student', 5),
    (6, 'guest', 'guest', 6),
    (7, 'user', 'user', 7),
    (8, 'frontpage', 'frontpage', 8);
INSERT INTO mdl_user_info_category (id, name, sortorder) VALUES (1, 'Other fields', 1);
-- Moodle 3.11 turned the old user.url column into this social profile field.
INSERT INTO mdl_user_info_field (shortname, name, datatype, categoryid, sortorder, visible, param1)
    VALUES ('url', 'Web page', 'social', 1, 1, 2, 'url');
