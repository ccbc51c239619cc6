"""The firm's view: customer-base models fitted on what a firm can observe.

The simulated customers carry their true churn propensities, purchase rates and
dropout chances; a firm sees none of them. It sees its own records: how long each
relationship has lasted and whether it ended (contractual customers), and when
each customer bought and for how much (non-contractual ones). From those it
estimates, with the standard models of the literature:

- :class:`ShiftedBetaGeometric` (Fader & Hardie 2007): contractual retention by
  tenure, fitted on tenures with right censoring (customers still there) and left
  truncation (customers already with the firm when its records begin);
- :class:`BetaGeometricNBD` (Fader, Hardie & Lee 2005): repeat buying and silent
  dropout, fitted on frequency, recency and age ``(x, t_x, T)``, giving each
  customer's probability of being alive and expected purchases;
- :class:`GammaGamma` (Fader, Hardie & Lee 2005b; Colombo & Jiang 1999): spend per
  order, fitted on each repeat buyer's number of repeat orders and mean order value.

Each is fitted by maximum likelihood (``scipy.optimize.minimize`` on the logarithms
of the parameters, on records grouped into unique rows so a fit over 100,000
customers costs milliseconds) with standard errors from the inverse of a numerical
Hessian (``scipy.differentiate.hessian``) by the delta method. When the records are
too few to estimate (fewer than ``MIN_CUSTOMERS`` customers or ``MIN_EVENTS``
events), or the optimiser fails, the model falls back to its documented prior
(``PRIOR``) and says why (``Fit.fell_back``, ``Fit.reason``).

Why not a library: checked on 2026-12-07 against the pinned environment
(``requirements/constraints.txt``, Python 3.12, numpy 2). ``btyd`` (0.1b3, 2022) does
not install (it pins ``psutil<6``, and its other releases have no matching
distributions); ``lifetimes`` is unmaintained; ``pymc-marketing`` resolves only to
0.18.2 (not its current 1.x) and brings PyMC, PyTensor, numba, ArviZ, xarray and
scikit-learn, about thirty packages, for fits that are Bayesian (posterior or maximum
a posteriori) rather than the maximum likelihood with Hessian standard errors that the
published estimates (and this lab's tests against them) report. The models here are
short closed-form likelihoods with exact gradients on ``scipy.optimize``.
"""

from crmsim.estimation.models import (
    MIN_CUSTOMERS,
    MIN_EVENTS,
    BetaGeometricNBD,
    Fit,
    GammaGamma,
    ShiftedBetaGeometric,
)

__all__ = [
    "MIN_CUSTOMERS",
    "MIN_EVENTS",
    "BetaGeometricNBD",
    "Fit",
    "GammaGamma",
    "ShiftedBetaGeometric",
]
