<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

namespace local_moosync\external;

use external_function_parameters;
use external_multiple_structure;
use external_single_structure;
use external_value;
use invalid_parameter_exception;
use local_moosync\local\batch_api;

/**
 * local_moosync_get_users: accounts by id, username, idnumber or email, with only the fields a
 * sync compares, in two queries per call whatever its size.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_users extends batch_api {

    /** @var string[] the user columns answered, beside id */
    const TEXT_FIELDS = ['username', 'auth', 'firstname', 'lastname', 'idnumber', 'email', 'institution', 'department',
        'city', 'country', 'lang', 'timezone', 'phone1', 'phone2', 'address', 'description'];

    /** @var string[] the integer user columns answered */
    const INT_FIELDS = ['id', 'suspended', 'deleted', 'confirmed', 'mnethostid', 'descriptionformat', 'mailformat',
        'maildisplay', 'picture', 'timemodified'];

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'field' => new external_value(PARAM_ALPHA, 'The field looked up: id, username, idnumber or email'),
            'values' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'A value of the field'),
                'Values to look up; an email is matched regardless of case, as Moodle matches them'
            ),
            'profilefields' => new external_multiple_structure(
                new external_value(PARAM_ALPHANUMEXT, 'Shortname of a custom profile field'),
                'Custom profile fields to answer with; none when empty',
                VALUE_DEFAULT, []
            ),
        ]);
    }

    /**
     * Looks the accounts up.
     *
     * @param string $field
     * @param array $values
     * @param array $profilefields
     * @return array
     */
    public static function execute(string $field, array $values, array $profilefields = []): array {
        global $CFG, $DB;
        $params = self::validate_parameters(self::execute_parameters(),
            ['field' => $field, 'values' => $values, 'profilefields' => $profilefields]);
        if (!in_array($params['field'], ['id', 'username', 'idnumber', 'email'], true)) {
            throw new invalid_parameter_exception('field must be id, username, idnumber or email, not ' . $params['field']);
        }
        $field = $params['field'];
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('moodle/user:viewalldetails', $context);
        require_capability('moodle/user:viewhiddendetails', $context);

        $warnings = [];
        $keys = [];
        foreach ($params['values'] as $index => $value) {
            if ($field === 'id') {
                if (!preg_match('/^[1-9][0-9]{0,17}$/', trim((string)$value))) {
                    $warnings[] = self::warning($index, 0, 'invalidvalue', (object)['field' => $field, 'value' => $value]);
                    continue;
                }
                $keys[] = (int)$value;
            } else if ($value !== '') {
                $keys[] = $field === 'email' ? \core_text::strtolower($value) : $value;
            }
        }
        $keys = array_values(array_unique($keys));
        $users = [];
        if ($keys) {
            $column = $field === 'email' ? 'LOWER(email)' : $field;
            [$in, $sqlparams] = $DB->get_in_or_equal($keys, SQL_PARAMS_NAMED, 'v');
            $where = "$column $in";
            if ($field === 'username') {
                // A username is unique per MNet host; a sync's accounts are this site's.
                $where .= ' AND mnethostid = :mnethostid';
                $sqlparams['mnethostid'] = $CFG->mnet_localhost_id;
            }
            $columns = implode(', ', array_merge(self::INT_FIELDS, self::TEXT_FIELDS));
            $users = $DB->get_records_select('user', $where, $sqlparams, 'id', $columns);
        }
        $custom = self::profile_values(array_keys($users), $params['profilefields']);

        $answer = [];
        foreach ($users as $user) {
            $row = [];
            foreach (self::INT_FIELDS as $name) {
                $row[$name] = (int)$user->$name;
            }
            foreach (self::TEXT_FIELDS as $name) {
                $row[$name] = (string)$user->$name;
            }
            $row['customfields'] = $custom[$user->id] ?? [];
            $answer[] = $row;
        }
        return ['users' => $answer, 'warnings' => $warnings];
    }

    /**
     * The custom profile field values of the users, in one query: a user without a value has
     * the field's default, and empty values are left out, as core_user_get_users_by_field does.
     *
     * @param int[] $userids
     * @param string[] $shortnames
     * @return array[] by user id: list of shortname and value
     */
    private static function profile_values(array $userids, array $shortnames): array {
        global $DB;
        $shortnames = array_values(array_unique($shortnames));
        if (!$userids || !$shortnames) {
            return [];
        }
        [$in, $params] = $DB->get_in_or_equal($shortnames, SQL_PARAMS_NAMED, 'f');
        $fields = $DB->get_records_select('user_info_field', "shortname $in", $params, 'sortorder, id',
            'id, shortname, defaultdata');
        if (!$fields) {
            return [];
        }
        [$fin, $params] = $DB->get_in_or_equal(array_keys($fields), SQL_PARAMS_NAMED, 'fd');
        [$uin, $uparams] = $DB->get_in_or_equal($userids, SQL_PARAMS_NAMED, 'u');
        $data = [];
        $rs = $DB->get_recordset_select('user_info_data', "fieldid $fin AND userid $uin", $params + $uparams, '',
            'id, userid, fieldid, data');
        foreach ($rs as $row) {
            $data[$row->userid][$row->fieldid] = $row->data;
        }
        $rs->close();

        $values = [];
        foreach ($userids as $userid) {
            foreach ($fields as $field) {
                $value = $data[$userid][$field->id] ?? $field->defaultdata;
                // Moodle's profile_field_base::is_empty(): '0' is a value, '' and null are not.
                if ($value === null || ($value !== '0' && empty($value))) {
                    continue;
                }
                $values[$userid][] = ['shortname' => $field->shortname, 'value' => (string)$value];
            }
        }
        return $values;
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        $fields = [];
        foreach (self::INT_FIELDS as $name) {
            $fields[$name] = new external_value(PARAM_INT, "The user's $name (user table)");
        }
        foreach (self::TEXT_FIELDS as $name) {
            $fields[$name] = new external_value(PARAM_RAW, "The user's $name, as stored (user table)");
        }
        $fields['customfields'] = new external_multiple_structure(
            new external_single_structure([
                'shortname' => new external_value(PARAM_ALPHANUMEXT, 'Field shortname'),
                'value' => new external_value(PARAM_RAW, 'Stored value (the field\'s default when the user has none)'),
            ]),
            'The custom profile fields asked for that have a value'
        );
        return new external_single_structure([
            'users' => new external_multiple_structure(
                new external_single_structure($fields),
                'The accounts found, by id; a value matching none is simply absent. Deleted accounts are'
                . ' found by id only, with deleted = 1'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
