-- The embedded store, version 2: courses, categories, sections, enrol instances, groups and
-- groupings, with Moodle's table and column names (install.xml). Indexes beyond Moodle's own
-- are named moosync_* and serve the lookups moosync makes (a category child by name, say).

CREATE TABLE mdl_course_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    idnumber TEXT,
    description TEXT,
    descriptionformat INTEGER NOT NULL DEFAULT 0,
    parent INTEGER NOT NULL DEFAULT 0,
    sortorder INTEGER NOT NULL DEFAULT 0,
    coursecount INTEGER NOT NULL DEFAULT 0,
    visible INTEGER NOT NULL DEFAULT 1,
    visibleold INTEGER NOT NULL DEFAULT 1,
    timemodified INTEGER NOT NULL DEFAULT 0,
    depth INTEGER NOT NULL DEFAULT 0,
    path TEXT NOT NULL DEFAULT '',
    theme TEXT
);
CREATE INDEX moosync_coursecat_parnam_ix ON mdl_course_categories (parent, name);
CREATE INDEX moosync_coursecat_idn_ix ON mdl_course_categories (idnumber);

CREATE TABLE mdl_course (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category INTEGER NOT NULL DEFAULT 0,
    sortorder INTEGER NOT NULL DEFAULT 0,
    fullname TEXT NOT NULL DEFAULT '',
    shortname TEXT NOT NULL DEFAULT '',
    idnumber TEXT NOT NULL DEFAULT '',
    summary TEXT,
    summaryformat INTEGER NOT NULL DEFAULT 0,
    format TEXT NOT NULL DEFAULT 'topics',
    showgrades INTEGER NOT NULL DEFAULT 1,
    newsitems INTEGER NOT NULL DEFAULT 1,
    startdate INTEGER NOT NULL DEFAULT 0,
    enddate INTEGER NOT NULL DEFAULT 0,
    relativedatesmode INTEGER NOT NULL DEFAULT 0,
    marker INTEGER NOT NULL DEFAULT 0,
    maxbytes INTEGER NOT NULL DEFAULT 0,
    legacyfiles INTEGER NOT NULL DEFAULT 0,
    showreports INTEGER NOT NULL DEFAULT 0,
    visible INTEGER NOT NULL DEFAULT 1,
    visibleold INTEGER NOT NULL DEFAULT 1,
    downloadcontent INTEGER,
    groupmode INTEGER NOT NULL DEFAULT 0,
    groupmodeforce INTEGER NOT NULL DEFAULT 0,
    defaultgroupingid INTEGER NOT NULL DEFAULT 0,
    lang TEXT NOT NULL DEFAULT '',
    calendartype TEXT NOT NULL DEFAULT '',
    theme TEXT NOT NULL DEFAULT '',
    timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0,
    requested INTEGER NOT NULL DEFAULT 0,
    enablecompletion INTEGER NOT NULL DEFAULT 0,
    completionnotify INTEGER NOT NULL DEFAULT 0,
    cacherev INTEGER NOT NULL DEFAULT 0,
    originalcourseid INTEGER,
    showactivitydates INTEGER NOT NULL DEFAULT 0,
    showcompletionconditions INTEGER,
    pdfexportfont TEXT
);
CREATE INDEX mdl_cour_cat_ix ON mdl_course (category);
CREATE INDEX mdl_cour_idn_ix ON mdl_course (idnumber);
CREATE INDEX mdl_cour_sho_ix ON mdl_course (shortname);
CREATE INDEX mdl_cour_sor_ix ON mdl_course (sortorder);

CREATE TABLE mdl_course_sections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course INTEGER NOT NULL DEFAULT 0,
    section INTEGER NOT NULL DEFAULT 0,
    name TEXT,
    summary TEXT,
    summaryformat INTEGER NOT NULL DEFAULT 0,
    sequence TEXT,
    visible INTEGER NOT NULL DEFAULT 1,
    availability TEXT,
    component TEXT,
    itemid INTEGER,
    timemodified INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mdl_coursect_cousec_uix ON mdl_course_sections (course, section);

CREATE TABLE mdl_enrol (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enrol TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL DEFAULT 0,
    courseid INTEGER NOT NULL,
    sortorder INTEGER NOT NULL DEFAULT 0,
    name TEXT,
    enrolperiod INTEGER DEFAULT 0,
    enrolstartdate INTEGER DEFAULT 0,
    enrolenddate INTEGER DEFAULT 0,
    expirynotify INTEGER DEFAULT 0,
    expirythreshold INTEGER DEFAULT 0,
    notifyall INTEGER DEFAULT 0,
    password TEXT,
    cost TEXT,
    currency TEXT,
    roleid INTEGER DEFAULT 0,
    customint1 INTEGER,
    customint2 INTEGER,
    customint3 INTEGER,
    customint4 INTEGER,
    customint5 INTEGER,
    customint6 INTEGER,
    customint7 INTEGER,
    customint8 INTEGER,
    customchar1 TEXT,
    customchar2 TEXT,
    customchar3 TEXT,
    customdec1 REAL,
    customdec2 REAL,
    customtext1 TEXT,
    customtext2 TEXT,
    customtext3 TEXT,
    customtext4 TEXT,
    timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mdl_enro_enr_ix ON mdl_enrol (enrol);
CREATE INDEX moosync_enrol_cou_ix ON mdl_enrol (courseid);
-- Meta and cohort instances are found by what they link to; partial, so the three default
-- instances of every course (customint1 NULL for manual and guest) cost it nothing.
CREATE INDEX moosync_enrol_cusenr_ix ON mdl_enrol (customint1, enrol) WHERE customint1 IS NOT NULL;

CREATE TABLE mdl_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    courseid INTEGER NOT NULL,
    idnumber TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    description TEXT,
    descriptionformat INTEGER NOT NULL DEFAULT 0,
    enrolmentkey TEXT,
    picture INTEGER NOT NULL DEFAULT 0,
    visibility INTEGER NOT NULL DEFAULT 0,
    participation INTEGER NOT NULL DEFAULT 1,
    timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mdl_grou_idn_ix ON mdl_groups (idnumber);
CREATE INDEX moosync_groups_cou_ix ON mdl_groups (courseid);
CREATE INDEX moosync_groupsmembers_gro_ix ON mdl_groups_members (groupid);

CREATE TABLE mdl_groupings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    courseid INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL DEFAULT '',
    idnumber TEXT NOT NULL DEFAULT '',
    description TEXT,
    descriptionformat INTEGER NOT NULL DEFAULT 0,
    configdata TEXT,
    timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mdl_grou_idn2_ix ON mdl_groupings (idnumber);
CREATE INDEX moosync_groupings_cou_ix ON mdl_groupings (courseid);

CREATE TABLE mdl_groupings_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    groupingid INTEGER NOT NULL DEFAULT 0,
    groupid INTEGER NOT NULL DEFAULT 0,
    timeadded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mdl_grougrou_gro_ix ON mdl_groupings_groups (groupingid);
CREATE INDEX mdl_grougrou_gro2_ix ON mdl_groupings_groups (groupid);

-- moosync's own: groups that a feed's member removals left empty, for `[groups] purge_empty`
-- at the end of the file. Kept in the store, with the removals, so a file stopped part-way
-- still purges what its committed batches emptied when a file next ends.
CREATE TABLE moosync_emptied_groups (groupid INTEGER PRIMARY KEY);

-- What a fresh install holds: the site course (id 1, category 0) and "Category 1" (id 1), each
-- with its context.
INSERT INTO mdl_course_categories (id, name, parent, sortorder, depth, path, visible, visibleold)
    VALUES (1, 'Category 1', 0, 10000, 1, '/1', 1, 1);
INSERT INTO mdl_context (contextlevel, instanceid, path, depth) VALUES (40, 1, NULL, 2);
UPDATE mdl_context SET path = '/1/' || id WHERE contextlevel = 40 AND instanceid = 1;
INSERT INTO mdl_course (id, category, fullname, shortname, format, summary, newsitems, visible)
    VALUES (1, 0, 'Moodle site', 'moodle', 'site', '', 3, 1);
INSERT INTO mdl_context (contextlevel, instanceid, path, depth) VALUES (50, 1, NULL, 2);
UPDATE mdl_context SET path = '/1/' || id WHERE contextlevel = 50 AND instanceid = 1;
INSERT INTO mdl_course_sections (course, section, summary, sequence) VALUES (1, 0, '', '');
