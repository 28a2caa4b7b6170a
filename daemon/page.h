/* SPDX-License-Identifier: Apache-2.0 */
/*
 * page.h - the seller's page of one plan: a complete HTML5 document (UTF-8,
 * inline CSS, no external assets, no JavaScript) with the plan's header,
 * KPI tiles, server-rendered SVG charts of the daily figures, the product
 * table, the diagnosis and the recommendations.
 *
 * Pure string building: no I/O, no libevent, no clock (jansson).  Every
 * string taken from the inputs is HTML-escaped.  Money is minor units,
 * shown as "1,234.00".
 *
 * Inputs (JSON as the admin API and the engine modules give it; only plan
 * is required, the others may be NULL or empty):
 *   plan             plan_to_json(), optionally with "totals": a
 *                    snapshot_to_json() object over the plan so far (else
 *                    the tiles sum the additive figures of days, and
 *                    customers and incremental GMV show as unknown)
 *   days             array of snapshot_to_json() day objects, oldest first
 *   products         array of snapshot_to_json() objects with product_id
 *                    (and an optional "name"), one per product
 *   diagnosis        array of diagnose_to_json() objects
 *   recommendations  a recommend_to_json() object, or an array of them
 *
 * Stable hooks for browser tests (data-value holds the raw JSON number,
 * "" for null; the text is the formatted figure):
 *   #plan-name #plan-id #plan-status #plan-range (data-min, data-max)
 *   #plan-start #plan-end #plan-roi-target
 *   #kpi-gmv #kpi-orders #kpi-customers #kpi-roi #kpi-page-views
 *   #kpi-promotion-cost #kpi-incremental-gmv (data-lo, data-hi)
 *   svg#chart-gmv, svg#chart-roi, svg#chart-orders: each point or bar has
 *   data-series, data-date and data-value
 *   table#days tr[data-date], table#products tr[data-product-id],
 *   cells td[data-field][data-value]
 *   ul#diagnosis li[data-verdict][data-metric]
 *   table#recommendations tr[data-product-id] inside
 *   section[data-recommendation-id] (further sets: #recommendations-2, ...)
 *
 * Returns the document as a NUL-terminated string the caller frees with
 * free(), or NULL when plan is not an object or memory ran out.
 */
#ifndef SP_PAGE_H
#define SP_PAGE_H

#include <jansson.h>

char *page_plan_html(const json_t *plan, const json_t *days,
    const json_t *products, const json_t *diagnosis,
    const json_t *recommendations);

#endif
