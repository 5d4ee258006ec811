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
use local_moosync\local\item_failure;
use Throwable;

/**
 * local_moosync_create_cohorts: creates cohorts as the cohort form does. Unlike
 * core_cohort_create_cohorts, a cohort may have no ID number while another has none, and
 * may name the component that manages it.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class create_cohorts extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'cohorts' => new external_multiple_structure(
                new external_single_structure([
                    'categoryid' => new external_value(PARAM_INT, 'The category it lives in, 0 for the system context'),
                    'name' => new external_value(PARAM_TEXT, 'Cohort name'),
                    'idnumber' => new external_value(PARAM_RAW, 'Cohort ID number, empty for none', VALUE_DEFAULT, ''),
                    'description' => new external_value(PARAM_RAW, 'Cohort description (HTML)', VALUE_DEFAULT, ''),
                    'component' => new external_value(PARAM_COMPONENT, 'The component managing it, empty for none',
                        VALUE_DEFAULT, ''),
                ]),
                'Cohorts to create'
            ),
        ]);
    }

    /**
     * Creates each cohort through cohort_add_cohort, so the cohort_created event fires.
     *
     * @param array $cohorts
     * @return array
     */
    public static function execute(array $cohorts): array {
        global $CFG;
        require_once($CFG->dirroot . '/cohort/lib.php');
        $params = self::validate_parameters(self::execute_parameters(), ['cohorts' => $cohorts]);
        $items = $params['cohorts'];

        // The contexts that exist, checked before anything is made (as core_cohort_create_cohorts).
        $contexts = [];
        foreach ($items as $item) {
            $categoryid = (int)$item['categoryid'];
            if ($categoryid === 0) {
                $contexts[0] = \context_system::instance();
            } else if (!isset($contexts[$categoryid])) {
                $context = \context_coursecat::instance($categoryid, IGNORE_MISSING);
                if ($context) {
                    $contexts[$categoryid] = $context;
                }
            }
        }
        self::require_in_contexts($contexts, ['moodle/cohort:manage']);

        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $contexts) {
                    global $DB;
                    $context = $contexts[(int)$item['categoryid']] ?? null;
                    if (!$context) {
                        throw new item_failure('categorynotfound', $item['categoryid']);
                    }
                    if (trim($item['name']) === '') {
                        throw new item_failure('invalidvalue', (object)['field' => 'name', 'value' => $item['name']]);
                    }
                    // As the cohort form: an ID number, when given, is the cohort's own.
                    if ($item['idnumber'] !== '' && $DB->record_exists('cohort', ['idnumber' => $item['idnumber']])) {
                        throw new item_failure('cohortidnumbertaken', $item['idnumber']);
                    }
                    $id = cohort_add_cohort((object)[
                        'contextid' => $context->id,
                        'name' => $item['name'],
                        'idnumber' => $item['idnumber'],
                        'description' => $item['description'],
                        'descriptionformat' => FORMAT_HTML,
                        'component' => $item['component'],
                    ]);
                    return ['id' => (int)$id];
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, 0, $e);
            }
        }
        return ['cohorts' => $results, 'warnings' => $warnings];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'cohorts' => new external_multiple_structure(
                new external_single_structure([
                    'index' => new external_value(PARAM_INT, 'Position of the item in the call'),
                    'id' => new external_value(PARAM_INT, 'The new cohort'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
