/* SPDX-License-Identifier: Apache-2.0 */
#include "folds.h"

#include <stdlib.h>

#include "rng.h"

int mmdx_folds_stratified(uint32_t *fold, const int32_t *labels, size_t n, unsigned k,
                          uint64_t seed, mmdx_error *err)
{
    size_t count[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        count[labels[i] ? 1 : 0]++;
    if (k < 2)
        return mmdx_error_set(err, MMDX_EINVAL, "folds: need at least 2 folds (got %u)", k);
    if (count[0] < k || count[1] < k)
        return mmdx_error_set(err, MMDX_EINVAL,
                              "folds: %u folds need at least %u samples of each class "
                              "(have %zu negatives, %zu positives)",
                              k, k, count[0], count[1]);
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx)
        return mmdx_error_set(err, MMDX_ENOMEM, "folds: out of memory");
    mmdx_rng rng;
    mmdx_rng_seed(&rng, seed);
    unsigned next = 0;
    for (int c = 0; c < 2; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if ((labels[i] ? 1 : 0) == c)
                idx[m++] = i;
        mmdx_rng_shuffle(&rng, idx, m);
        for (size_t j = 0; j < m; j++) {
            fold[idx[j]] = next;
            next = (next + 1) % k;
        }
    }
    free(idx);
    return 0;
}
