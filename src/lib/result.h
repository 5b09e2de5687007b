/* SPDX-License-Identifier: MIT */
/* The result from its JSON (what corrald sends a client), for the client API. */
#pragma once

#include <jansson.h>

#include "corral.h"

/*
 * Fill *r from SPEC's result object o. Strings the struct points to without owning
 * (evidence.limit_hit, evidence.inferred) point into o: keep o until r is gone.
 * Captures are copied (r owns them, as the job's result does). -EBADMSG when o is not
 * a result object.
 */
int result_from_json(json_t *o, corral_result *r);
