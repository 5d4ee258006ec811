<?php
// This file is part of moosync's lab tooling; it runs inside a lab Moodle, which is
// free software under the GNU General Public License v3 or later, as is this helper.
//
// This program is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// This program is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with this program.  If not, see <https://www.gnu.org/licenses/>.

/**
 * Lab helper run by install-into-lab.sh after the plugin is installed: makes the external
 * service "moosync_plugin" (every function of the lab's "moosync" service plus the plugin's)
 * with a permanent admin token, and a user without the plugin's capabilities, with a token
 * for the same service, for refusal tests. The lab's "moosync" service keeps none of the
 * plugin's functions. Enables the meta link enrol method, which the plugin's meta functions need,
 * and makes two custom profile fields for the tests of the lean user read.
 *
 * Usage (as the web server user): php lab_plugin_ws.php <moodle dirroot> <admin token file> <limited token file>
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

define('CLI_SCRIPT', true);

[$dirroot, $admintokenfile, $limitedtokenfile] = array_slice(array_pad($argv, 4, null), 1);
if (!$dirroot || !$admintokenfile || !$limitedtokenfile) {
    fwrite(STDERR, "usage: lab_plugin_ws.php DIRROOT ADMINTOKENFILE LIMITEDTOKENFILE\n");
    exit(2);
}
require($dirroot . '/config.php');
require_once($CFG->libdir . '/externallib.php');
require_once($CFG->dirroot . '/user/lib.php');
require_once($CFG->dirroot . '/user/profile/lib.php');
require_once($CFG->dirroot . '/user/profile/definelib.php');
require_once($CFG->dirroot . '/user/profile/field/text/define.class.php');

const LAB_SERVICE = 'moosync';
const PLUGIN_SERVICE = 'moosync_plugin';
const LIMITED_USER = 'moosync_limited';
const LIMITED_ROLE = 'moosynclimited';

/**
 * The service with this shortname, made or refreshed: enabled, open to every user, files on.
 *
 * @param string $shortname
 * @return stdClass
 */
function lab_service(string $shortname): stdClass {
    global $DB;
    $service = $DB->get_record('external_services', ['shortname' => $shortname]);
    if (!$service) {
        $service = (object)['name' => $shortname, 'shortname' => $shortname, 'enabled' => 1, 'restrictedusers' => 0,
            'component' => null, 'timecreated' => time(), 'timemodified' => time(), 'downloadfiles' => 1,
            'uploadfiles' => 1, 'requiredcapability' => ''];
        $service->id = $DB->insert_record('external_services', $service);
    } else {
        $service->enabled = 1;
        $service->restrictedusers = 0;
        $service->timemodified = time();
        $DB->update_record('external_services', $service);
    }
    return $service;
}

/**
 * A permanent token of the user for the service, made once and then reused.
 *
 * @param stdClass $service
 * @param int $userid
 * @return string
 */
function lab_token(stdClass $service, int $userid): string {
    global $DB;
    $token = $DB->get_field('external_tokens', 'token', ['userid' => $userid, 'externalserviceid' => $service->id,
        'tokentype' => EXTERNAL_TOKEN_PERMANENT], IGNORE_MULTIPLE);
    if ($token) {
        return $token;
    }
    if (class_exists('\core_external\util')) {
        return \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $userid, context_system::instance());
    }
    return external_generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $userid, context_system::instance());
}

/**
 * Writes a secret readable by its owner only.
 *
 * @param string $file
 * @param string $secret
 */
function lab_write_secret(string $file, string $secret): void {
    $old = umask(0077);
    file_put_contents($file, $secret);
    umask($old);
    chmod($file, 0600);
}

$labservice = $DB->get_record('external_services', ['shortname' => LAB_SERVICE], '*', MUST_EXIST);
$pluginfunctions = $DB->get_fieldset_select('external_functions', 'name', 'component = ?', ['local_moosync']);
if (!$pluginfunctions) {
    fwrite(STDERR, "local_moosync declares no functions: is the plugin installed?\n");
    exit(1);
}

// The meta link functions need the meta enrol method on (Moodle's default leaves it off).
\core\plugininfo\enrol::enable_plugin('meta', 1);

// Two custom profile fields for the lean user read's tests (no web service makes them): one
// hidden from all but those who may view every detail, one with a default value.
$category = $DB->get_record_sql('SELECT * FROM {user_info_category} ORDER BY sortorder, id', null, IGNORE_MULTIPLE);
if (!$category) {
    $category = (object)['name' => 'Lab', 'sortorder' => 1];
    $category->id = $DB->insert_record('user_info_category', $category);
}
foreach (['moosynclab' => ['', PROFILE_VISIBLE_NONE], 'moosynclabdef' => ['fallback', PROFILE_VISIBLE_ALL]] as $shortname => $how) {
    if (!$DB->record_exists('user_info_field', ['shortname' => $shortname])) {
        (new profile_define_text())->define_save((object)['datatype' => 'text', 'shortname' => $shortname,
            'name' => "moosync lab $shortname", 'description' => '', 'descriptionformat' => FORMAT_HTML,
            'categoryid' => $category->id, 'required' => 0, 'locked' => 0, 'visible' => $how[1], 'forceunique' => 0,
            'signup' => 0, 'defaultdata' => $how[0], 'defaultdataformat' => FORMAT_MOODLE, 'param1' => 30,
            'param2' => 2048, 'param3' => 0, 'param4' => '', 'param5' => '']);
    }
}

// Tests run "without the plugin" through the lab's own service: it never holds the plugin's functions.
[$in, $params] = $DB->get_in_or_equal($pluginfunctions);
$DB->delete_records_select('external_services_functions', "externalserviceid = ? AND functionname $in",
    array_merge([$labservice->id], $params));

$service = lab_service(PLUGIN_SERVICE);
$wanted = array_merge(
    $DB->get_fieldset_select('external_services_functions', 'functionname', 'externalserviceid = ?', [$labservice->id]),
    $pluginfunctions
);
foreach (array_unique($wanted) as $name) {
    if (!$DB->record_exists('external_services_functions', ['externalserviceid' => $service->id, 'functionname' => $name])) {
        $DB->insert_record('external_services_functions', (object)['externalserviceid' => $service->id,
            'functionname' => $name]);
    }
}

// The limited user: may use REST and see courses (so a call reaches its capability check),
// and holds none of the capabilities the plugin's functions ask for.
$system = context_system::instance();
$roleid = $DB->get_field('role', 'id', ['shortname' => LIMITED_ROLE]);
if (!$roleid) {
    $roleid = create_role('moosync limited (lab)', LIMITED_ROLE, 'Lab role: REST and course viewing only, for refusal tests.');
    set_role_contextlevels($roleid, [CONTEXT_SYSTEM]);
}
foreach (['webservice/rest:use', 'moodle/course:view', 'moodle/course:viewhiddencourses'] as $capability) {
    assign_capability($capability, CAP_ALLOW, $roleid, $system->id, true);
}
$user = $DB->get_record('user', ['username' => LIMITED_USER, 'mnethostid' => $CFG->mnet_localhost_id]);
if (!$user) {
    $userid = user_create_user((object)['username' => LIMITED_USER, 'auth' => 'manual', 'confirmed' => 1,
        'mnethostid' => $CFG->mnet_localhost_id, 'firstname' => 'Limited', 'lastname' => 'Lab',
        'email' => LIMITED_USER . '@example.invalid', 'password' => random_string(20) . 'aA1!'], true, false);
} else {
    $userid = $user->id;
}
role_assign($roleid, $userid, $system->id);

lab_write_secret($admintokenfile, lab_token($service, get_admin()->id));
lab_write_secret($limitedtokenfile, lab_token($service, $userid));
echo 'service ' . PLUGIN_SERVICE . " id={$service->id}: " . count(array_unique($wanted)) . ' functions, '
    . count($pluginfunctions) . " of them the plugin's\n";
