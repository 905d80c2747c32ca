/*
 * A cil plugin in C, written against Sources/SDK/Sources/CILPluginABI/include/cil_plugin.h
 * only: a loss term and one function declared in its manifest.
 *
 * The loss term "entropy" is a confidence penalty (Pereyra et al., 2017): the batch
 * mean of the negative entropy of the softmax of the logits, which is lowest when
 * the predictions are least confident. For a batch of B rows of C logits z,
 * p = softmax(z) per row:
 *
 *   L         = 1/B sum_b sum_c p_bc log p_bc
 *   dL/dz_bj  = 1/B p_bj (log p_bj - sum_c p_bc log p_bc)
 *   dL/df     = 0
 *
 * Build (see Makefile or Examples/build-examples.sh):
 *   cc -O2 -shared -fPIC -I ../../Sources/SDK/Sources/CILPluginABI/include \
 *      -o libCILPluginEntropy.so entropy.c -lm
 */
#include "cil_plugin.h"

#include <math.h>
#include <stdio.h>

/* Writes softmax(z) of one row of n logits into p (numerically stable); returns
   sum_c p_c log p_c. */
static double softmax_row(const float *z, int64_t n, double *p) {
    double max = z[0];
    for (int64_t c = 1; c < n; c++) if (z[c] > max) max = z[c];
    double sum = 0;
    for (int64_t c = 0; c < n; c++) { p[c] = exp((double)z[c] - max); sum += p[c]; }
    double logsum = log(sum), plogp = 0;
    for (int64_t c = 0; c < n; c++) {
        double logp = (double)z[c] - max - logsum;
        p[c] /= sum;
        plogp += p[c] * logp;
    }
    return plogp;
}

/* ---- the function declared in the manifest -------------------------------- */

/* The entropy (nats) of the softmax of one row of n logits; 0 for n outside 1...4096. */
double entropy_of_logits(const float *logits, int64_t n) {
    double p[4096];
    if (n < 1 || n > 4096) return 0;
    return -softmax_row(logits, n, p);
}

/* ---- the loss term -------------------------------------------------------- */

static int32_t confidence_penalty(const cil_loss_term_input *in, float *value, float *grad_logits,
                                  float *grad_features, void *user_data, char *error_message,
                                  size_t error_capacity) {
    (void)grad_features; /* zero-filled by the host: the features get no gradient */
    (void)user_data;
    if (in->batch < 1 || in->classes < 1 || in->classes > 4096) {
        snprintf(error_message, error_capacity, "entropy: need B >= 1 and 1 <= C <= 4096, got B=%lld C=%lld",
                 (long long)in->batch, (long long)in->classes);
        return 1;
    }
    const int64_t b = in->batch, n = in->classes;
    double p[4096], total = 0;
    for (int64_t i = 0; i < b; i++) {
        const float *z = in->logits + i * n;
        double plogp = softmax_row(z, n, p);
        total += plogp;
        for (int64_t c = 0; c < n; c++) {
            double logp = p[c] > 0 ? log(p[c]) : 0; /* p log p -> 0 as p -> 0 */
            grad_logits[i * n + c] = (float)(p[c] * (logp - plogp) / (double)b);
        }
    }
    *value = (float)(total / (double)b);
    return 0;
}

#define MANIFEST                                                                                       \
    "{\"functions\": [{\"name\": \"entropy\", \"symbol\": \"entropy_of_logits\", "                    \
    "\"returns\": \"double\", \"arguments\": [\"pointer\", \"int64\"]}]}"

static const cil_c_plugin plugin = {
    CIL_PLUGIN_ABI_VERSION,
    (uint32_t)sizeof(cil_c_plugin),
    "entropy",
    "0.1.0",
    "confidence penalty: batch mean of sum p log p of the softmax of the logits",
    MANIFEST,
    confidence_penalty,
    NULL,
};

const cil_c_plugin *cil_c_plugin_entry(uint32_t host_abi_version) {
    if (host_abi_version != CIL_PLUGIN_ABI_VERSION) return NULL;
    return &plugin;
}
