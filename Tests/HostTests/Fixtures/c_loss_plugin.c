/*
 * A C plugin written against cil_plugin.h only: a loss term with exact gradients,
 * and functions declared in its manifest, which the host calls through libffi.
 *
 * The loss of one batch (B samples, C classes of which `old_classes` are old, D
 * feature dimensions, one-hot targets y, weight w = *(const float *)user_data):
 *
 *   L = 1/(B C) sum_{b,c} (z_bc - y_bc)^2                        squared error of the logits
 *     + w/(2B)  sum_{b,d} f_bd^2                                 feature L2
 *     + 1/(B O) sum_{b,c<O} (z_bc - o_bc)^2    (old logits o)    logit distillation, phase >= 1
 *     + 1/(2B)  sum_{b,d} (f_bd - g_bd)^2      (old features g)  feature distillation, phase >= 1
 *
 *   dL/dz_bc = 2 (z_bc - y_bc)/(B C) + [c < O] 2 (z_bc - o_bc)/(B O)
 *   dL/df_bd = w f_bd / B + (f_bd - g_bd)/B
 *
 * Errors (non-zero status with a message) for inputs it cannot use.
 *
 * Variants for the loader's error paths, chosen with -D when the tests compile it:
 *   FIXTURE_NAME="..."       another plugin name (default "demo-loss", "demo-hooks")
 *   FIXTURE_HOOKS_ONLY       no loss term: a plugin of kind "hooks"
 *   FIXTURE_PLUGIN_ABI=n     a descriptor claiming plugin ABI n
 *   FIXTURE_REFUSE           cil_c_plugin_entry returns NULL
 *   FIXTURE_MISSING_SYMBOL   the manifest names a symbol the library lacks
 *   FIXTURE_BAD_TYPE         the manifest uses the type "int128"
 */
#include "cil_plugin.h"

#include <stdio.h>

#ifndef FIXTURE_PLUGIN_ABI
#define FIXTURE_PLUGIN_ABI CIL_PLUGIN_ABI_VERSION
#endif

#ifndef FIXTURE_NAME
#ifdef FIXTURE_HOOKS_ONLY
#define FIXTURE_NAME "demo-hooks"
#else
#define FIXTURE_NAME "demo-loss"
#endif
#endif

/* ---- functions declared in the manifest ---------------------------------- */

double demo_dot(const float *a, const float *b, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)a[i] * (double)b[i];
    return sum;
}

int32_t demo_add(int32_t a, int32_t b) { return a + b; }

float demo_scale(float x, double factor) { return (float)((double)x * factor); }

uint64_t demo_mix(uint32_t a, uint64_t b, int64_t c) { return (uint64_t)a + b + (uint64_t)c; }

uint32_t demo_complement(uint32_t x) { return ~x; }

void demo_fill(float *p, int64_t n, float value) {
    for (int64_t i = 0; i < n; i++) p[i] = value;
}

float *demo_advance(float *p, int64_t n) { return p + n; }

static int64_t calls = 0;
int64_t demo_counter(void) { return ++calls; }

#define FUNCTIONS                                                                                      \
    "{\"name\": \"dot\", \"symbol\": \"demo_dot\", \"returns\": \"double\", "                         \
    "\"arguments\": [\"pointer\", \"pointer\", \"int64\"]},"                                           \
    "{\"name\": \"add\", \"symbol\": \"demo_add\", \"returns\": \"int32\", "                          \
    "\"arguments\": [\"int32\", \"int32\"]},"                                                          \
    "{\"name\": \"scale\", \"symbol\": \"demo_scale\", \"returns\": \"float\", "                      \
    "\"arguments\": [\"float\", \"double\"]},"                                                         \
    "{\"name\": \"mix\", \"symbol\": \"demo_mix\", \"returns\": \"uint64\", "                         \
    "\"arguments\": [\"uint32\", \"uint64\", \"int64\"]},"                                             \
    "{\"name\": \"complement\", \"symbol\": \"demo_complement\", \"returns\": \"uint32\", "           \
    "\"arguments\": [\"uint32\"]},"                                                                    \
    "{\"name\": \"fill\", \"symbol\": \"demo_fill\", \"returns\": \"void\", "                         \
    "\"arguments\": [\"pointer\", \"int64\", \"float\"]},"                                             \
    "{\"name\": \"advance\", \"symbol\": \"demo_advance\", \"returns\": \"pointer\", "                \
    "\"arguments\": [\"pointer\", \"int64\"]},"                                                        \
    "{\"name\": \"counter\", \"symbol\": \"demo_counter\", \"returns\": \"int64\", \"arguments\": []}"

#if defined(FIXTURE_MISSING_SYMBOL)
static const char manifest[] = "{\"functions\": [" FUNCTIONS ","
                               "{\"name\": \"ghost\", \"symbol\": \"demo_ghost\", \"returns\": \"void\", "
                               "\"arguments\": []}]}";
#elif defined(FIXTURE_BAD_TYPE)
static const char manifest[] = "{\"functions\": [{\"name\": \"wide\", \"symbol\": \"demo_add\", "
                               "\"returns\": \"int128\", \"arguments\": [\"int32\", \"int32\"]}]}";
#else
static const char manifest[] = "{\"functions\": [" FUNCTIONS "]}";
#endif

/* ---- the loss term -------------------------------------------------------- */

#ifndef FIXTURE_HOOKS_ONLY
static int32_t fail(char *message, size_t capacity, int32_t status, const char *text) {
    if (message && capacity > 0) snprintf(message, capacity, "%s", text);
    return status;
}

static int32_t demo_loss(const cil_loss_term_input *in, float *value, float *grad_logits, float *grad_features,
                         void *user_data, char *message, size_t capacity) {
    char text[160];
    if (in->struct_size < sizeof(cil_loss_term_input)) {
        snprintf(text, sizeof text, "input record has %u bytes, expected at least %zu", (unsigned)in->struct_size,
                 sizeof(cil_loss_term_input));
        return fail(message, capacity, 1, text);
    }
    if (in->phase < 0) return 4; /* an error without a message */
    const int64_t B = in->batch, C = in->classes, O = in->old_classes, D = in->feature_dim;
    if (B <= 0 || C <= 0 || D <= 0 || O < 0 || O > C) {
        snprintf(text, sizeof text, "bad sizes: batch %lld, classes %lld, old classes %lld, features %lld",
                 (long long)B, (long long)C, (long long)O, (long long)D);
        return fail(message, capacity, 3, text);
    }
    for (int64_t b = 0; b < B; b++) {
        if (in->targets[b] < 0 || in->targets[b] >= C) {
            snprintf(text, sizeof text, "target %lld of sample %lld is not in 0..<%lld", (long long)in->targets[b],
                     (long long)b, (long long)C);
            return fail(message, capacity, 2, text);
        }
    }
    if (in->phase > 0 && O > 0 && in->old_logits == NULL) {
        snprintf(text, sizeof text, "phase %lld has %lld old classes but no old logits", (long long)in->phase,
                 (long long)O);
        return fail(message, capacity, 3, text);
    }
    const float w = *(const float *)user_data;
    double loss = 0;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t c = 0; c < C; c++) {
            const double z = in->logits[b * C + c];
            const double diff = z - (in->targets[b] == c ? 1.0 : 0.0);
            loss += diff * diff / (double)(B * C);
            double g = 2 * diff / (double)(B * C);
            if (in->old_logits != NULL && c < O) {
                const double d2 = z - in->old_logits[b * O + c];
                loss += d2 * d2 / (double)(B * O);
                g += 2 * d2 / (double)(B * O);
            }
            grad_logits[b * C + c] = (float)g;
        }
        for (int64_t d = 0; d < D; d++) {
            const double f = in->features[b * D + d];
            loss += w * f * f / (2.0 * (double)B);
            double g = w * f / (double)B;
            if (in->old_features != NULL) {
                const double d2 = f - in->old_features[b * D + d];
                loss += d2 * d2 / (2.0 * (double)B);
                g += d2 / (double)B;
            }
            grad_features[b * D + d] = (float)g;
        }
    }
    *value = (float)loss;
    return 0;
}

static const float feature_weight = 0.5f;
#endif

static const cil_c_plugin plugin = {
    FIXTURE_PLUGIN_ABI,
    (uint32_t)sizeof(cil_c_plugin),
    FIXTURE_NAME,
    "1.2.3",
    "fixture: squared-error loss term and libffi demo functions",
    manifest,
#ifdef FIXTURE_HOOKS_ONLY
    NULL,
    NULL,
#else
    demo_loss,
    (void *)&feature_weight,
#endif
};

const cil_c_plugin *cil_c_plugin_entry(uint32_t host_abi_version) {
#ifdef FIXTURE_REFUSE
    (void)host_abi_version;
    (void)&plugin;
    return NULL;
#else
    return host_abi_version == CIL_PLUGIN_ABI_VERSION ? &plugin : NULL;
#endif
}
