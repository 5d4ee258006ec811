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
use local_moosync\local\batch_api;

/**
 * local_moosync_get_account_rules: what Moodle checks of an account's values that no core
 * web service shows, so that a sync refuses such rows itself, with Moodle's words, before it
 * sends them: the password policy (admin/settings/security.php) and the installed languages.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_account_rules extends batch_api {

    /**
     * Parameters: none.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * Reads the site's settings and language packs.
     *
     * @return array
     */
    public static function execute(): array {
        global $CFG;
        self::validate_parameters(self::execute_parameters(), []);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('moodle/user:create', $context);
        $languages = array_keys(get_string_manager()->get_list_of_translations());
        sort($languages);
        return [
            'passwordpolicy' => !empty($CFG->passwordpolicy),
            'minpasswordlength' => (int)($CFG->minpasswordlength ?? 0),
            'minpassworddigits' => (int)($CFG->minpassworddigits ?? 0),
            'minpasswordlower' => (int)($CFG->minpasswordlower ?? 0),
            'minpasswordupper' => (int)($CFG->minpasswordupper ?? 0),
            'minpasswordnonalphanum' => (int)($CFG->minpasswordnonalphanum ?? 0),
            'maxconsecutiveidentchars' => (int)($CFG->maxconsecutiveidentchars ?? 0),
            'languages' => $languages,
        ];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'passwordpolicy' => new external_value(PARAM_BOOL, 'Whether the password policy applies'),
            'minpasswordlength' => new external_value(PARAM_INT, 'Least characters'),
            'minpassworddigits' => new external_value(PARAM_INT, 'Least digits'),
            'minpasswordlower' => new external_value(PARAM_INT, 'Least lower case letters'),
            'minpasswordupper' => new external_value(PARAM_INT, 'Least upper case letters'),
            'minpasswordnonalphanum' => new external_value(PARAM_INT, 'Least other characters'),
            'maxconsecutiveidentchars' => new external_value(PARAM_INT, 'Most identical characters in a row, 0 for any'),
            'languages' => new external_multiple_structure(
                new external_value(PARAM_LANG, 'A language code'),
                'The installed language packs, sorted'
            ),
        ]);
    }
}
