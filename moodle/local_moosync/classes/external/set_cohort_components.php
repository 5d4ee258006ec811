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
 * local_moosync_set_cohort_components: sets the component that manages each cohort, which
 * core_cohort_create_cohorts and core_cohort_update_cohorts do not take.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class set_cohort_components extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'cohorts' => new external_multiple_structure(
                new external_single_structure([
                    'cohortid' => new external_value(PARAM_INT, 'The cohort'),
                    'component' => new external_value(PARAM_COMPONENT, 'The component managing it, empty for none'),
                ]),
                'Cohorts and their components'
            ),
        ]);
    }

    /**
     * Sets each component through cohort_update_cohort, so the cohort_updated event fires.
     *
     * @param array $cohorts
     * @return array
     */
    public static function execute(array $cohorts): array {
        global $CFG, $DB;
        require_once($CFG->dirroot . '/cohort/lib.php');
        $params = self::validate_parameters(self::execute_parameters(), ['cohorts' => $cohorts]);
        $items = $params['cohorts'];

        $found = [];
        $wanted = array_values(array_unique(array_filter(array_column($items, 'cohortid'))));
        if ($wanted) {
            $found = $DB->get_records_list('cohort', 'id', $wanted);
        }
        $contexts = [];
        foreach ($found as $cohort) {
            $contexts[$cohort->contextid] = \context::instance_by_id($cohort->contextid);
        }
        // As core_cohort_update_cohorts: the cohort's own context.
        self::require_in_contexts($contexts, ['moodle/cohort:manage']);

        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $found) {
                    $cohort = $found[$item['cohortid']] ?? null;
                    if (!$cohort) {
                        throw new item_failure('cohortnotfound', $item['cohortid']);
                    }
                    $cohort->component = $item['component'];
                    cohort_update_cohort($cohort);
                    return ['cohortid' => (int)$cohort->id, 'component' => $cohort->component];
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['cohortid'], $e);
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
                    'cohortid' => new external_value(PARAM_INT, 'The cohort'),
                    'component' => new external_value(PARAM_COMPONENT, 'Its component now'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
