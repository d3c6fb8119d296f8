"""torch.linalg and the fused products in ops/linalg.py against real torch.

Each decomposition is run on well-conditioned matrices drawn by hypothesis (diagonally
dominant for inv/solve/det, X X^T + nI for cholesky, separated eigenvalues and singular
values for eigh/svd), in float64, and must agree with torch on values, dtypes, grad_fn names,
first-order gradients through a random cotangent and second-order gradients. Eigenvectors and
singular vectors are unique only up to sign, and torch's MKL and numpy's OpenBLAS choose
differently, so their tests differentiate functions that do not depend on the signs. Then:
LinAlgError with torch's messages, the gradient of det at singular matrices, every einsum
spelling, tensordot, kron, inner, addmm/addmv/baddbmm, the norms, lstsq, matrix_power,
multi_dot, vecdot, and torch's error messages.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hypergrad as hg

SETTINGS = settings(max_examples=15, deadline=None)


# ----------------------------------------------------------------------------------------------
# helpers: the same function in both libraries, compared
# ----------------------------------------------------------------------------------------------
def flat(value):
    return list(value) if isinstance(value, tuple) else [value]


def assert_same(ours, theirs, rtol=1e-7, atol=1e-7):
    """Same dtype, shape and values (NaN where torch has NaN)."""
    assert isinstance(ours, hg.Tensor), type(ours)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "hypergrad."), (ours.dtype,
                                                                                theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape), (ours.shape, theirs.shape)
    expected = (np.zeros(tuple(theirs.shape), str(theirs.dtype).replace("torch.", ""))
                if theirs._is_zerotensor() else theirs.detach().numpy())
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(ours.detach().numpy(), expected)
    else:
        np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=rtol, atol=atol)


def weights(shape, seed):
    return np.random.default_rng(seed).standard_normal(tuple(shape))


def compare(hg_fn, torch_fn, arrays, *, node=None, second_order=True, rtol=1e-7, atol=1e-7):
    """Run fn on float64 tensors made from `arrays` in both libraries and compare the outputs
    (values, dtype, grad_fn names), the gradients of sum(w * outputs) and, if asked, the
    gradients of sum(v * gradients) with respect to the inputs."""
    ours_in = [hg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = flat(hg_fn(*ours_in)), flat(torch_fn(*theirs_in))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert_same(o, t, rtol, atol)
        if t.grad_fn is not None:
            assert o.grad_fn.name() == t.grad_fn.name().rpartition("::")[2]
    if node is not None:
        assert ours[0].grad_fn.name() == node
    pairs = [(o, t) for o, t in zip(ours, theirs) if t.requires_grad and t.numel()]
    if not pairs:
        return
    loss_ours = sum((o * hg.tensor(weights(o.shape, i))).sum() for i, (o, _) in enumerate(pairs))
    loss_theirs = sum((t * torch.tensor(weights(t.shape, i))).sum()
                      for i, (_, t) in enumerate(pairs))
    grads_ours = hg.autograd.grad(loss_ours, ours_in, create_graph=second_order,
                                  allow_unused=True)
    grads_theirs = torch.autograd.grad(loss_theirs, theirs_in, create_graph=second_order,
                                       allow_unused=True)
    for g_o, g_t in zip(grads_ours, grads_theirs):
        if g_t is None:
            assert g_o is None or not g_o.detach().numpy().any()
        else:
            assert_same(g_o, g_t, rtol * 10, atol * 10)
    if not second_order:
        return
    second_ours = sum((g * hg.tensor(weights(g.shape, 50 + i))).sum()
                      for i, g in enumerate(grads_ours) if g is not None and g.requires_grad)
    second_theirs = sum((g * torch.tensor(weights(g.shape, 50 + i))).sum()
                        for i, g in enumerate(grads_theirs) if g is not None and g.requires_grad)
    if isinstance(second_theirs, int):
        return
    s_ours = hg.autograd.grad(second_ours, ours_in, allow_unused=True)
    s_theirs = torch.autograd.grad(second_theirs, theirs_in, allow_unused=True)
    for g_o, g_t in zip(s_ours, s_theirs):
        if g_t is None or g_o is None:
            other = g_o if g_t is None else g_t
            assert other is None or other._is_zerotensor() if other is g_t else \
                np.allclose(other.detach().numpy(), 0, atol=1e-6)
        else:
            assert_same(g_o, g_t, rtol * 100, atol * 100)


# --- well-conditioned matrices ----------------------------------------------------------------
@st.composite
def matrices(draw, kind="invertible", square=True):
    """A batch (maybe empty of dims) of small matrices the op is well-behaved on."""
    batch = draw(st.sampled_from([(), (2,), (2, 1)]), label="batch")
    rows = draw(st.integers(1, 3), label="rows")
    cols = rows if square else draw(st.integers(1, 3), label="cols")
    seed = draw(st.integers(0, 2 ** 16), label="seed")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, batch + (rows, cols))
    k = min(rows, cols)
    if kind == "invertible":
        return x + (rows + 1) * np.eye(rows)
    if kind == "full_rank":
        return x + (k + 1) * np.eye(rows, cols)
    if kind == "positive_definite":
        return x @ np.swapaxes(x, -1, -2) + rows * np.eye(rows)
    # separated spectra: eigenvalues / singular values at least 1 apart and from 0
    q1 = np.linalg.qr(rng.uniform(-1, 1, batch + (rows, rows)) + 2 * np.eye(rows))[0]
    values = 1.5 * np.arange(1, k + 1) + rng.uniform(0, 0.5, batch + (k,))
    if kind == "symmetric":
        values = values * (-1.0) ** np.arange(k)
        m = (q1 * values[..., None, :]) @ np.swapaxes(q1, -1, -2)
        return (m + np.swapaxes(m, -1, -2)) / 2
    q2 = np.linalg.qr(rng.uniform(-1, 1, batch + (cols, cols)) + 2 * np.eye(cols))[0]
    return (q1[..., :, :k] * values[..., ::-1][..., None, :]) @ np.swapaxes(q2[..., :, :k], -1,
                                                                          -2)


# ----------------------------------------------------------------------------------------------
# inv, det, slogdet, solve, cholesky
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(a=matrices())
def test_inv_det_slogdet_match_torch(a):
    compare(hg.linalg.inv, torch.linalg.inv, [a], node="LinalgInvExBackward0")
    compare(hg.inverse, torch.inverse, [a])
    compare(lambda x: x.inverse(), lambda x: x.inverse(), [a])
    compare(hg.linalg.det, torch.linalg.det, [a], node="LinalgDetBackward0")
    compare(hg.det, torch.det, [a])
    compare(lambda x: tuple(hg.linalg.slogdet(x)), lambda x: tuple(torch.linalg.slogdet(x)), [a])


def test_slogdet_and_friends_return_named_tuples():
    a = np.array([[0.0, 2.0], [1.0, 0.0]])
    ours, theirs = hg.linalg.slogdet(hg.tensor(a)), torch.linalg.slogdet(torch.tensor(a))
    assert_same(ours.sign, theirs.sign)
    assert_same(ours.logabsdet, theirs.logabsdet)
    assert type(ours).__name__ == "linalg_slogdet"
    assert hg.slogdet(hg.tensor(a)).sign.item() == -1.0
    q, r = hg.linalg.qr(hg.tensor(a))
    assert hg.linalg.qr(hg.tensor(a)).R is not None and q.shape == (2, 2) and r.shape == (2, 2)
    assert hg.linalg.eigh(hg.tensor(a + a.T)).eigenvalues.shape == (2,)
    assert hg.linalg.svd(hg.tensor(a)).Vh.shape == (2, 2)


@SETTINGS
@given(data=st.data())
def test_solve_matches_torch(data):
    a = data.draw(matrices(), label="A")
    n = a.shape[-1]
    batch = a.shape[:-2]
    case = data.draw(st.sampled_from(["vector", "matrix", "batched vector", "left=False",
                                      "broadcast"]), label="case")
    rng = np.random.default_rng(1)
    shape = {"vector": (n,), "matrix": batch + (n, 2), "batched vector": batch + (n,),
             "left=False": batch + (2, n), "broadcast": (3,) + batch + (n, 1)}[case]
    b = rng.standard_normal(shape)
    kwargs = {"left": False} if case == "left=False" else {}
    compare(lambda x, y: hg.linalg.solve(x, y, **kwargs),
            lambda x, y: torch.linalg.solve(x, y, **kwargs), [a, b], node="LinalgSolveExBackward0")


@SETTINGS
@given(a=matrices("positive_definite"), upper=st.booleans())
def test_cholesky_matches_torch(a, upper):
    compare(lambda x: hg.linalg.cholesky(x, upper=upper),
            lambda x: torch.linalg.cholesky(x, upper=upper), [a],
            node="LinalgCholeskyExBackward0")


def test_cholesky_reads_one_triangle():
    a = np.array([[4.0, 1.0], [2.0, 3.0]])   # only the lower (or upper) triangle is read
    for upper in (False, True):
        assert_same(hg.linalg.cholesky(hg.tensor(a), upper=upper),
                    torch.linalg.cholesky(torch.tensor(a), upper=upper))


# ----------------------------------------------------------------------------------------------
# LinAlgError: torch's type (a RuntimeError) and message
# ----------------------------------------------------------------------------------------------
SINGULAR = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]
NOT_PD = [[1.0, 2.0], [2.0, 1.0]]

LINALG_ERRORS = [
    ("inv singular", lambda L, t: L.linalg.inv(t(SINGULAR))),
    ("inv zeros", lambda L, t: L.linalg.inv(t([[0.0, 0.0], [0.0, 0.0]]))),
    ("inv batch", lambda L, t: L.linalg.inv(t([np.eye(3).tolist(), SINGULAR]))),
    ("inverse batch of one", lambda L, t: L.inverse(t([[[0.0]]]))),
    ("matrix_power -1", lambda L, t: L.linalg.matrix_power(t(SINGULAR), -1)),
    ("solve singular", lambda L, t: L.linalg.solve(t(SINGULAR), t([1.0, 2.0, 3.0]))),
    ("solve batch", lambda L, t: L.linalg.solve(t([np.eye(3).tolist(), SINGULAR]),
                                                t([[1.0, 2.0, 3.0]] * 2))),
    ("cholesky", lambda L, t: L.linalg.cholesky(t(NOT_PD))),
    ("cholesky batch", lambda L, t: L.linalg.cholesky(t([np.eye(2).tolist(), NOT_PD]))),
    ("cholesky nan", lambda L, t: L.linalg.cholesky(t([[math.nan, 1.0], [1.0, 2.0]]))),
    ("cholesky negative", lambda L, t: L.linalg.cholesky(t([[-1.0]]))),
    ("svd nan", lambda L, t: L.linalg.svd(t([[math.nan, 1.0], [1.0, 2.0]]))),
    ("svdvals nan batch", lambda L, t: L.linalg.svdvals(t([[[1.0]], [[math.nan]]]))),
    ("pinv nan", lambda L, t: L.linalg.pinv(t([[math.nan, 1.0]]))),
    ("nuclear norm nan", lambda L, t: L.linalg.matrix_norm(t([[math.nan, 1.0]]), "nuc")),
]


@pytest.mark.parametrize("label, call", LINALG_ERRORS, ids=[e[0] for e in LINALG_ERRORS])
def test_linalg_errors_match_torch(label, call):
    with pytest.raises(torch.linalg.LinAlgError) as theirs:
        call(torch, lambda v: torch.tensor(v, dtype=torch.float64))
    with pytest.raises(hg.linalg.LinAlgError) as ours:
        call(hg, lambda v: hg.tensor(v, dtype=hg.float64))
    assert str(ours.value) == str(theirs.value)
    assert isinstance(ours.value, RuntimeError)


def test_the_brief_s_message():
    with pytest.raises(RuntimeError, match=r"^linalg.inv: The diagonal element 2 is zero, the "
                                           r"inversion could not be completed because the input "
                                           r"matrix is singular.$"):
        hg.linalg.inv(hg.tensor([[1.0, 2.0], [2.0, 4.0]]))


# ----------------------------------------------------------------------------------------------
# det at singular matrices: torch's two formulas
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("matrix", [[[1.0, 2.0], [2.0, 4.0]], np.zeros((3, 3)).tolist(),
                                    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
                                    [[[1.0, 2.0], [2.0, 4.0]], [[2.0, 1.0], [1.0, 3.0]]],
                                    [[1.0, 2.0], [2.0, 4.000001]]])
def test_det_gradient_at_singular_matrices_matches_torch(matrix):
    """Without create_graph torch's LU-based formula gives 0 at an exactly singular matrix;
    with it, the adjugate from the SVD. HyperGrad does the same, and so do second orders."""
    a = np.array(matrix)
    ours, theirs = hg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v = weights(a.shape[:-2], 3)
    for create_graph in (False, True):
        g_ours, = hg.autograd.grad(hg.linalg.det(ours), ours, hg.tensor(v),
                                   create_graph=create_graph)
        g_theirs, = torch.autograd.grad(torch.linalg.det(theirs), theirs, torch.tensor(v),
                                        create_graph=create_graph)
        assert_same(g_ours, g_theirs, rtol=1e-6, atol=1e-9)
    w = weights(a.shape, 4)
    s_ours, = hg.autograd.grad((g_ours * hg.tensor(w)).sum(), ours)
    s_theirs, = torch.autograd.grad((g_theirs * torch.tensor(w)).sum(), theirs)
    assert_same(s_ours, s_theirs, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------------------------
# qr, eigh, svd, pinv
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(a=matrices("full_rank", square=False),
       mode=st.sampled_from(["reduced", "complete", "r"]))
def test_qr_matches_torch(a, mode):
    m, n = a.shape[-2:]
    if mode == "r" or (mode == "complete" and m > n):   # no gradient: forward only
        ours, theirs = hg.linalg.qr(hg.tensor(a), mode=mode), torch.linalg.qr(torch.tensor(a),
                                                                               mode=mode)
        for o, t in zip(ours, theirs):
            assert_same(o, t, 1e-6, 1e-9)
        return
    compare(lambda x: tuple(hg.linalg.qr(x, mode=mode)),
            lambda x: tuple(torch.linalg.qr(x, mode=mode)), [a], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("mode, shape, message", [
    ("r", (3, 2), ("The derivative of linalg.qr depends on Q, which is not computed when "
                   "mode='r'")),
    ("complete", (3, 2), ("The QR decomposition is not differentiable when mode='complete' and "
                          "nrows > ncols.")),
])
def test_qr_backward_refuses_as_torch(mode, shape, message):
    a = np.random.default_rng(0).standard_normal(shape)
    for library in (torch, hg):
        x = library.tensor(a, requires_grad=True)
        _, r = library.linalg.qr(x, mode=mode)
        with pytest.raises(RuntimeError, match=message):
            r.sum().backward()


def _eigh_invariant(library):
    """A function of A through eigh that does not depend on the eigenvectors' signs."""
    def f(a):
        values, vectors = library.linalg.eigh(a)
        return (vectors * library.sin(values).unsqueeze(-2)) @ vectors.mT, values
    return f


def _svd_invariant(library, full_matrices):
    def f(a):
        u, s, vh = library.linalg.svd(a, full_matrices=full_matrices)
        k = s.shape[-1]
        return (u[..., :k] * (s * s).unsqueeze(-2)) @ vh[..., :k, :], s
    return f


@SETTINGS
@given(a=matrices("symmetric"))
def test_eigh_matches_torch(a):
    compare(_eigh_invariant(hg), _eigh_invariant(torch), [a], rtol=1e-6, atol=1e-8)
    compare(hg.linalg.eigvalsh, torch.linalg.eigvalsh, [a], node="LinalgEighBackward0",
            rtol=1e-6, atol=1e-9)
    # the eigenvectors themselves, up to the sign of each
    ours = hg.linalg.eigh(hg.tensor(a)).eigenvectors.numpy()
    theirs = torch.linalg.eigh(torch.tensor(a)).eigenvectors.numpy()
    np.testing.assert_allclose(np.abs(np.sum(ours * theirs, axis=-2)), 1, atol=1e-9)


def test_eigh_reads_the_uplo_triangle():
    a = np.array([[2.0, 1.0], [-5.0, 3.0]])
    for uplo in ("L", "U"):
        assert_same(hg.linalg.eigvalsh(hg.tensor(a), UPLO=uplo),
                    torch.linalg.eigvalsh(torch.tensor(a), UPLO=uplo))


def test_eigvalsh_gradient_with_repeated_eigenvalues_is_finite():
    """Only the eigenvalues are used, so torch skips the 1 / (L_j - L_i) terms; so must we."""
    for library in (hg, torch):
        x = library.eye(3, dtype=library.float64, requires_grad=True)
        library.linalg.eigvalsh(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), np.eye(3))
        y = library.eye(2, dtype=library.float64, requires_grad=True)
        library.linalg.matrix_norm(y, 2).backward()
        assert np.isfinite(y.grad.numpy()).all()


@SETTINGS
@given(a=matrices("separated", square=False), full_matrices=st.booleans())
def test_svd_matches_torch(a, full_matrices):
    compare(_svd_invariant(hg, full_matrices), _svd_invariant(torch, full_matrices), [a],
            rtol=1e-6, atol=1e-8)
    compare(hg.linalg.svdvals, torch.linalg.svdvals, [a], node="LinalgSvdBackward0",
            rtol=1e-6, atol=1e-9)
    u, s, vh = hg.linalg.svd(hg.tensor(a), full_matrices=full_matrices)
    k = s.shape[-1]
    np.testing.assert_allclose(((u[..., :k] * s.unsqueeze(-2)) @ vh[..., :k, :]).numpy(), a,
                               atol=1e-12)
    assert u.grad_fn is None and s.requires_grad is False


@SETTINGS
@given(data=st.data())
def test_pinv_matches_torch(data):
    hermitian = data.draw(st.booleans(), label="hermitian")
    a = data.draw(matrices("symmetric" if hermitian else "full_rank", square=hermitian))
    compare(lambda x: hg.linalg.pinv(x, hermitian=hermitian),
            lambda x: torch.linalg.pinv(x, hermitian=hermitian), [a],
            node="LinalgPinvBackward0", rtol=1e-6, atol=1e-9)
    compare(hg.pinverse, torch.pinverse, [a], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kwargs", [{"rtol": 0.5}, {"atol": 1.5}, {"atol": 0.0, "rtol": 0.0}])
def test_pinv_tolerances_drop_small_singular_values(kwargs):
    a = np.diag([3.0, 1.0, 0.1])
    assert_same(hg.linalg.pinv(hg.tensor(a), **kwargs),
                torch.linalg.pinv(torch.tensor(a), **kwargs))


def test_svd_of_inf_does_not_hang():
    """LAPACK's SVD can loop forever on inf; HyperGrad returns NaN singular values instead,
    as torch (MKL) does for this matrix."""
    a = [[math.inf, 0.63, -0.31], [0.38, 0.98, 0.40], [-math.inf, math.inf, 0.0]]
    assert np.isnan(hg.linalg.svdvals(hg.tensor(a)).numpy()).all()
    assert np.isnan(torch.linalg.svdvals(torch.tensor(a)).numpy()).all()


# ----------------------------------------------------------------------------------------------
# matrix_norm, norm
# ----------------------------------------------------------------------------------------------
ORDS = ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]


@SETTINGS
@given(a=matrices("separated", square=False), ord=st.sampled_from(ORDS),
       keepdim=st.booleans())
def test_matrix_norm_matches_torch(a, ord, keepdim):
    compare(lambda x: hg.linalg.matrix_norm(x, ord, keepdim=keepdim),
            lambda x: torch.linalg.matrix_norm(x, ord, keepdim=keepdim), [a],
            rtol=1e-6, atol=1e-9)
    if a.ndim == 3:
        compare(lambda x: hg.linalg.matrix_norm(x, ord, dim=(0, 2), keepdim=keepdim),
                lambda x: torch.linalg.matrix_norm(x, ord, dim=(0, 2), keepdim=keepdim), [a],
                rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape, kwargs", [
    ((3,), {}), ((3,), {"ord": 1}), ((3,), {"ord": math.inf}), ((2, 3), {}),
    ((2, 3), {"ord": "fro"}), ((2, 3), {"ord": "nuc"}), ((2, 3), {"ord": 2}),
    ((2, 3), {"ord": -1}), ((2, 3), {"ord": 3, "dim": 1}), ((2, 2, 3), {"dim": (1, 2)}),
    ((2, 2, 3), {"ord": math.inf, "dim": (0, 2)}), ((2, 2, 3), {}),
    ((2, 3), {"ord": 2, "keepdim": True}), ((2, 3), {"dim": 0, "keepdim": True}),
])
def test_norm_picks_vector_or_matrix_norms_as_torch(shape, kwargs):
    a = np.random.default_rng(len(shape)).standard_normal(shape)
    compare(lambda x: hg.linalg.norm(x, **kwargs), lambda x: torch.linalg.norm(x, **kwargs), [a],
            rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape, ord", [((0, 2), 2), ((2, 0), 2), ((3, 0, 2), 2), ((0, 2), 1),
                                        ((0, 2), math.inf), ((2, 0), "nuc"), ((0, 2), "fro")])
def test_norms_of_empty_matrices(shape, ord):
    ours = hg.linalg.matrix_norm(hg.zeros(shape, requires_grad=True), ord)
    theirs = torch.linalg.matrix_norm(torch.zeros(shape, requires_grad=True), ord)
    assert_same(ours, theirs)
    assert ours.requires_grad == theirs.requires_grad


# ----------------------------------------------------------------------------------------------
# lstsq, matrix_power, multi_dot, vecdot
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(a=matrices("full_rank", square=False), driver=st.sampled_from([None, "gelsy", "gelsd",
                                                                       "gelss", "gels"]),
       vector=st.booleans())
def test_lstsq_matches_torch(a, driver, vector):
    m = a.shape[-2]
    b = np.random.default_rng(5).standard_normal(a.shape[:-2] + ((m,) if vector else (m, 2)))
    if driver == "gels" and a.shape[-2] < a.shape[-1]:
        driver = "gelsd"   # gels assumes full rank and m >= n in torch's LAPACK call
    ours = hg.linalg.lstsq(hg.tensor(a), hg.tensor(b), driver=driver)
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    for o, t in zip(ours, theirs):
        assert_same(o, t, rtol=1e-6, atol=1e-9)
    compare(lambda x, y: hg.linalg.lstsq(x, y, driver=driver)[:2],
            lambda x, y: tuple(torch.linalg.lstsq(x, y, driver=driver)[:2]), [a, b],
            rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n", [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 9])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_matrix_power_matches_torch(n, batch):
    a = np.random.default_rng(n % 7).uniform(-1, 1, batch + (3, 3)) + 2 * np.eye(3)
    compare(lambda x: hg.linalg.matrix_power(x, n), lambda x: torch.linalg.matrix_power(x, n),
            [a], rtol=1e-6, atol=1e-9)
    compare(lambda x: x.matrix_power(n), lambda x: x.matrix_power(n), [a], rtol=1e-6, atol=1e-9)
    ints = np.arange(9).reshape(3, 3) % 4
    if n >= 0:
        assert_same(hg.matrix_power(hg.tensor(ints), n), torch.matrix_power(torch.tensor(ints), n))


@pytest.mark.parametrize("shapes", [[(3,), (3, 2)], [(2, 3), (3,)], [(3,), (3,)],
                                    [(2, 3), (3, 4), (4, 1)], [(5, 1), (1, 5), (5, 2)],
                                    [(1, 4), (4, 3), (3, 2), (2, 6)], [(3,), (3, 2), (2, 2), (2,)],
                                    [(2, 2), (2, 5), (5, 1), (1, 3), (3, 2)]])
def test_multi_dot_matches_torch(shapes):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    compare(lambda *t: hg.linalg.multi_dot(t), lambda *t: torch.linalg.multi_dot(t), arrays,
            node="ViewBackward0", rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shapes, dim", [(((3,), (3,)), -1), (((3,), (3,)), 0),
                                         (((2, 3), (3,)), -1), (((2, 3), (2, 1)), 0),
                                         (((2, 1, 3), (4, 3)), -1)])
def test_vecdot_matches_torch(shapes, dim):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    compare(lambda x, y: hg.linalg.vecdot(x, y, dim=dim),
            lambda x, y: torch.linalg.vecdot(x, y, dim=dim), arrays)


def test_vdot_matches_torch():
    arrays = [np.random.default_rng(i).standard_normal(3) for i in range(2)]
    compare(hg.vdot, torch.vdot, arrays, node="VdotBackward0")
    compare(lambda x, y: x.vdot(y), lambda x, y: x.vdot(y), arrays)


# ----------------------------------------------------------------------------------------------
# einsum: every spelling torch accepts
# ----------------------------------------------------------------------------------------------
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]), ("ij->ji", [(2, 3)]), ("ij", [(2, 3)]), ("ba", [(2, 3)]),
    ("ij->", [(2, 3)]), ("ij->j", [(2, 3)]), ("i,i->", [(3,), (3,)]), ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]), ("i,j", [(2,), (3,)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]), ("...ij->...ji", [(2, 2, 3)]),
    ("...ij", [(2, 2, 3)]), ("i...->...", [(2, 3, 4)]), ("...,...->...", [(2, 3), (3,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]), ("ij,kj->ik", [(2, 3), (4, 3)]), ("iij->j", [(2, 2, 3)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("i,i,i->i", [(3,), (3,), (3,)]), ("ijk,kji->", [(2, 3, 4), (4, 3, 2)]),
    ("a,b,c->", [(2,), (3,), (4,)]), ("Ab,bA->A", [(2, 3), (3, 2)]), ("ij,j", [(2, 3), (3,)]),
    ("ij,jk->ik", [(2, 1), (3, 2)]), ("i j , j k -> i k", [(2, 3), (3, 4)]),
    ("iji->j", [(2, 3, 2)]), ("ij,ji->", [(0, 2), (2, 0)]), ("...i,...i", [(2, 3), (2, 3)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum_matches_torch(equation, shapes):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    compare(lambda *t: hg.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), arrays)
    compare(lambda *t: hg.einsum(equation, list(t)), lambda *t: torch.einsum(equation, list(t)),
            arrays, second_order=False)


def test_einsum_sublist_format():
    a, b = np.random.default_rng(0).standard_normal((2, 3)), np.ones((3, 4))
    compare(lambda x, y: hg.einsum(x, [0, 1], y, [1, 2], [0, 2]),
            lambda x, y: torch.einsum(x, [0, 1], y, [1, 2], [0, 2]), [a, b])
    compare(lambda x, y: hg.einsum(x, [Ellipsis, 1], y, [1, 2]),
            lambda x, y: torch.einsum(x, [Ellipsis, 1], y, [1, 2]), [a, b])


def test_einsum_of_integers_promotes_as_torch():
    a, b = np.arange(6, dtype=np.int32).reshape(2, 3), np.arange(3, dtype=np.int32)
    for equation, arrays in [("ij,j", (a, b)), ("ij,jk->ik", (a[:, :1], a)), ("ii", (a[:, :2],))]:
        assert_same(hg.einsum(equation, *map(hg.tensor, arrays)),
                    torch.einsum(equation, *map(torch.tensor, arrays)))


def test_einsum_diagonal_is_a_view_as_in_torch():
    ours = hg.ones(3, 3)
    view = hg.einsum("ii->i", ours)
    assert view._base is ours


EINSUM_ERRORS = [
    ("ij,jk->ik", [(2, 3), (4, 2)]), ("ij->k", [(2, 3)]), ("ij", [(3,)]), ("ij,jk", [(2, 3)]),
    ("i", [(2,), (2,)]), ("i->ii", [(2,)]), ("ii", [(2, 3)]), ("i.j", [(2, 3)]),
    ("...i...", [(2, 3)]), ("i1", [(2, 3)]), ("...ij,...jk", [(2, 2, 3), (3, 3, 2)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM_ERRORS, ids=[e[0] for e in EINSUM_ERRORS])
def test_einsum_errors_match_torch(equation, shapes):
    with pytest.raises(Exception) as theirs:
        torch.einsum(equation, *[torch.ones(s) for s in shapes])
    with pytest.raises(type(theirs.value)) as ours:
        hg.einsum(equation, *[hg.ones(s) for s in shapes])
    assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------------------------
# tensordot, inner, kron
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes, dims", [
    ([(2, 3), (3, 4)], 1), ([(2, 3, 4), (3, 4, 5)], 2), ([(2, 3), (4, 5)], 0),
    ([(2, 3, 4), (4, 2, 3)], ([0, 1], [1, 2])), ([(3, 2), (2, 3)], ([1, 0], [0, 1])),
    ([(2, 1), (3, 2)], ([1], [0])), ([(3,), (3,)], 1), ([(2, 3), (3, 2)], [[-1], [0]]),
])
def test_tensordot_matches_torch(shapes, dims):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    compare(lambda x, y: hg.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims),
            arrays, node="ViewBackward0")


@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(2, 3), (4, 3)], [(2, 1, 3), (3,)], [(), (2, 3)],
                                    [(2, 3), ()]])
def test_inner_matches_torch(shapes):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    compare(hg.inner, torch.inner, arrays)
    compare(lambda x, y: x.inner(y), lambda x, y: x.inner(y), arrays)


@pytest.mark.parametrize("shapes", [[(2,), (3,)], [(2, 2), (3, 1)], [(2, 1, 2), (3, 2)], [(), (2,)],
                                    [(2, 3), (0,)]])
def test_kron_matches_torch(shapes):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    compare(hg.kron, torch.kron, arrays, node="UnsafeViewBackward0")
    bools = [a > 0 for a in arrays]
    assert_same(hg.kron(*map(hg.tensor, bools)), torch.kron(*map(torch.tensor, bools)))


@pytest.mark.parametrize("shape_a, shape_b, transpose_a, transpose_b", [
    ((2, 3), (2,), True, False), ((2,), (2, 3), False, True), ((2, 2), (2, 2), True, True),
    ((2, 3), (2, 1), True, True), ((2, 2, 3), (3,), True, False)])
def test_kron_of_transposed_inputs_behaves_as_torch(shape_a, shape_b, transpose_a, transpose_b):
    """torch's kron cannot view some products of transposed inputs; neither can HyperGrad."""
    def run(library):
        a = library.ones(shape_a[:-2] + shape_a[-2:][::-1]).mT if transpose_a else \
            library.ones(shape_a)
        b = library.ones(shape_b[:-2] + shape_b[-2:][::-1]).mT if transpose_b else \
            library.ones(shape_b)
        try:
            return library.kron(a, b)
        except RuntimeError as error:
            return str(error)

    ours, theirs = run(hg), run(torch)
    if isinstance(theirs, str):
        assert ours == theirs
    else:
        assert_same(ours, theirs)


# ----------------------------------------------------------------------------------------------
# addmm, addmv, baddbmm
# ----------------------------------------------------------------------------------------------
FUSED = {"addmm": ((2, 3), (2, 4), (4, 3)), "addmv": ((2,), (2, 4), (4,)),
         "baddbmm": ((2, 2, 3), (2, 2, 4), (2, 4, 3))}


@pytest.mark.parametrize("name", sorted(FUSED))
@pytest.mark.parametrize("kwargs", [{}, {"beta": 0.5, "alpha": -2.0}, {"beta": 0},
                                    {"alpha": 0}, {"beta": 2, "alpha": 3}])
def test_fused_products_match_torch(name, kwargs):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(FUSED[name])]
    compare(lambda *t: getattr(hg, name)(*t, **kwargs),
            lambda *t: getattr(torch, name)(*t, **kwargs), arrays, node=None)
    compare(lambda x, *t: getattr(x, name)(*t, **kwargs),
            lambda x, *t: getattr(x, name)(*t, **kwargs), arrays)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_products_edge_cases_match_torch(name):
    shapes = FUSED[name]
    nan_input = np.full(shapes[0], np.nan)
    ones = [np.ones(s) for s in shapes[1:]]
    for kwargs, arrays in [({"beta": 0}, [nan_input] + ones),          # input ignored
                           ({"alpha": 0}, [np.ones(shapes[0]), np.full(shapes[1], np.nan),
                                           ones[1]])]:                  # product ignored (BLAS)
        assert_same(getattr(hg, name)(*map(hg.tensor, arrays), **kwargs),
                    getattr(torch, name)(*map(torch.tensor, arrays), **kwargs))
    ints = [np.arange(np.prod(s), dtype=np.int32).reshape(s) % 3 for s in shapes]
    for kwargs in ({}, {"beta": 1.7, "alpha": 2.7}, {"beta": -0.5, "alpha": -1.5}):
        assert_same(getattr(hg, name)(*map(hg.tensor, ints), **kwargs),
                    getattr(torch, name)(*map(torch.tensor, ints), **kwargs))
    broadcast = np.random.default_rng(0).standard_normal(shapes[0][-1:])
    compare(lambda *t: getattr(hg, name)(*t), lambda *t: getattr(torch, name)(*t),
            [broadcast] + [np.random.default_rng(1).standard_normal(s) for s in shapes[1:]])


def test_inplace_addmm_matches_torch():
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(FUSED["addmm"])]
    ours, theirs = hg.tensor(arrays[0]), torch.tensor(arrays[0])
    assert ours.addmm_(hg.tensor(arrays[1]), hg.tensor(arrays[2]), alpha=2) is ours
    theirs.addmm_(torch.tensor(arrays[1]), torch.tensor(arrays[2]), alpha=2)
    assert_same(ours, theirs)


# ----------------------------------------------------------------------------------------------
# errors a user can cause: torch's type and message
# ----------------------------------------------------------------------------------------------
def _t(library, shape, dtype="float32"):
    return library.ones(shape, dtype=getattr(library, dtype))


ERRORS = [
    ("inv of a vector", lambda L: L.linalg.inv(_t(L, (3,)))),
    ("inv not square", lambda L: L.linalg.inv(_t(L, (2, 3)))),
    ("inv of ints", lambda L: L.linalg.inv(_t(L, (2, 2), "int64"))),
    ("inv of ints, not square", lambda L: L.linalg.inv(_t(L, (2, 3), "int64"))),
    ("det of ints", lambda L: L.linalg.det(_t(L, (2, 2), "int64"))),
    ("slogdet not square", lambda L: L.linalg.slogdet(_t(L, (2, 3)))),
    ("solve shapes", lambda L: L.linalg.solve(_t(L, (3, 3)), _t(L, (2,)))),
    ("solve shapes left=False", lambda L: L.linalg.solve(_t(L, (2, 2)), _t(L, (3, 3)),
                                                         left=False)),
    ("solve dtypes", lambda L: L.linalg.solve(_t(L, (3, 3)), _t(L, (3,), "float64"))),
    ("solve int A", lambda L: L.linalg.solve(_t(L, (2, 2), "int64"), _t(L, (2,)))),
    ("solve 0-d B", lambda L: L.linalg.solve(_t(L, (2, 2)), _t(L, ()))),
    ("solve batches", lambda L: L.linalg.solve(_t(L, (2, 3, 3)), _t(L, (4, 3, 1)))),
    ("cholesky of ints", lambda L: L.linalg.cholesky(_t(L, (2, 2), "int64"))),
    ("qr mode", lambda L: L.linalg.qr(_t(L, (2, 3)), mode="foo")),
    ("qr of ints", lambda L: L.linalg.qr(_t(L, (2, 2), "int64"), mode="foo")),
    ("eigh UPLO", lambda L: L.linalg.eigh(_t(L, (2, 2)), UPLO="X")),
    ("eigh of ints", lambda L: L.linalg.eigh(_t(L, (2, 2), "int64"))),
    ("eigvalsh of ints", lambda L: L.linalg.eigvalsh(_t(L, (2, 2), "int64"))),
    ("svd of a vector", lambda L: L.linalg.svd(_t(L, (3,)))),
    ("svdvals of ints", lambda L: L.linalg.svdvals(_t(L, (2, 2), "int64"))),
    ("pinv of ints", lambda L: L.linalg.pinv(_t(L, (2, 2), "int64"))),
    ("pinv of a vector", lambda L: L.linalg.pinv(_t(L, (3,)))),
    ("matrix_norm order", lambda L: L.linalg.matrix_norm(_t(L, (2, 2)), 3)),
    ("matrix_norm order name", lambda L: L.linalg.matrix_norm(_t(L, (2, 2)), "foo")),
    ("matrix_norm vector", lambda L: L.linalg.matrix_norm(_t(L, (2,)))),
    ("matrix_norm dims", lambda L: L.linalg.matrix_norm(_t(L, (2, 2)), dim=(0, -2))),
    ("matrix_norm 3 dims", lambda L: L.linalg.matrix_norm(_t(L, (2, 2)), dim=(0, 1, 1))),
    ("matrix_norm int dtype", lambda L: L.linalg.matrix_norm(_t(L, (2, 2)), dtype=L.int64)),
    ("norm of 3-D with ord", lambda L: L.linalg.norm(_t(L, (2, 2, 2)), 2)),
    ("norm with 3 dims", lambda L: L.linalg.norm(_t(L, (2, 2, 2)), dim=(0, 1, 2))),
    ("norm fro of a vector", lambda L: L.linalg.norm(_t(L, (3,)), "fro")),
    ("lstsq dtypes", lambda L: L.linalg.lstsq(_t(L, (3, 3)), _t(L, (3, 1), "float64"))),
    ("lstsq rows", lambda L: L.linalg.lstsq(_t(L, (3, 3)), _t(L, (2, 1)))),
    ("lstsq driver", lambda L: L.linalg.lstsq(_t(L, (3, 3)), _t(L, (3, 1)), driver="foo")),
    ("lstsq vector", lambda L: L.linalg.lstsq(_t(L, (3,)), _t(L, (3,)))),
    ("matrix_power not square", lambda L: L.linalg.matrix_power(_t(L, (2, 3)), 2)),
    ("matrix_power float n", lambda L: L.linalg.matrix_power(_t(L, (2, 2)), 2.0)),
    ("matrix_power int negative", lambda L: L.linalg.matrix_power(_t(L, (2, 2), "int64"), -1)),
    ("multi_dot one", lambda L: L.linalg.multi_dot([_t(L, (2, 2))])),
    ("multi_dot shapes", lambda L: L.linalg.multi_dot([_t(L, (2, 3)), _t(L, (2, 3))])),
    ("multi_dot 3-D", lambda L: L.linalg.multi_dot([_t(L, (2, 2, 2)), _t(L, (2, 2))])),
    ("multi_dot middle", lambda L: L.linalg.multi_dot([_t(L, (2,)), _t(L, (2,)), _t(L, (2,))])),
    ("multi_dot dtypes", lambda L: L.linalg.multi_dot([_t(L, (2, 2)),
                                                       _t(L, (2, 2), "float64")])),
    ("vecdot ints", lambda L: L.linalg.vecdot(_t(L, (3,), "int64"), _t(L, (3,), "int64"))),
    ("vecdot dtypes", lambda L: L.linalg.vecdot(_t(L, (3,)), _t(L, (3,), "float64"))),
    ("vecdot sizes", lambda L: L.linalg.vecdot(_t(L, (3,)), _t(L, (2,)))),
    ("vdot dtypes", lambda L: L.vdot(_t(L, (3,)), _t(L, (3,), "float64"))),
    ("vdot of bool", lambda L: L.vdot(_t(L, (3,), "bool"), _t(L, (3,), "bool"))),
    ("tensordot dims", lambda L: L.tensordot(_t(L, (2, 3)), _t(L, (3, 2)), -1)),
    ("tensordot too many dims", lambda L: L.tensordot(_t(L, (2, 3)), _t(L, (3, 2)), 3)),
    ("tensordot sizes", lambda L: L.tensordot(_t(L, (2, 3)), _t(L, (4, 2)), 1)),
    ("tensordot lists", lambda L: L.tensordot(_t(L, (2, 3)), _t(L, (3, 2)), ([1], [0, 1]))),
    ("tensordot int pair", lambda L: L.tensordot(_t(L, (2, 3)), _t(L, (3, 2)), [1, 0])),
    ("tensordot dtypes", lambda L: L.tensordot(_t(L, (2, 3)), _t(L, (3, 2), "float64"), 1)),
    ("inner sizes", lambda L: L.inner(_t(L, (2, 3)), _t(L, (4, 2)))),
    ("addmm shapes", lambda L: L.addmm(_t(L, (2, 3)), _t(L, (2, 2)), _t(L, (3, 3)))),
    ("addmm vector", lambda L: L.addmm(_t(L, (2, 3)), _t(L, (2,)), _t(L, (2, 3)))),
    ("addmm input", lambda L: L.addmm(_t(L, (4,)), _t(L, (2, 2)), _t(L, (2, 3)))),
    ("addmm 3-D input", lambda L: L.addmm(_t(L, (2, 2, 3)), _t(L, (2, 2)), _t(L, (2, 3)))),
    ("addmm dtypes", lambda L: L.addmm(_t(L, (2, 2)), _t(L, (2, 2), "float64"),
                                       _t(L, (2, 2), "float64"))),
    ("addmm bool", lambda L: L.addmm(_t(L, (2, 2), "bool"), _t(L, (2, 2), "bool"),
                                     _t(L, (2, 2), "bool"))),
    ("addmv sizes", lambda L: L.addmv(_t(L, (3,)), _t(L, (3, 2)), _t(L, (3,)))),
    ("addmv dtypes", lambda L: L.addmv(_t(L, (3,), "float64"), _t(L, (3, 2)), _t(L, (2,)))),
    ("baddbmm batches", lambda L: L.baddbmm(_t(L, (4, 2, 3)), _t(L, (4, 2, 2)),
                                            _t(L, (3, 2, 3)))),
    ("baddbmm input", lambda L: L.baddbmm(_t(L, (5, 2, 3)), _t(L, (4, 2, 2)), _t(L, (4, 2, 3)))),
    ("baddbmm dtypes", lambda L: L.baddbmm(_t(L, (4, 2, 3), "float64"), _t(L, (4, 2, 2)),
                                           _t(L, (4, 2, 3)))),
    ("baddbmm batch dtypes", lambda L: L.baddbmm(_t(L, (4, 2, 3)), _t(L, (4, 2, 2)),
                                                 _t(L, (4, 2, 3), "float64"))),
    ("kron of transposed", lambda L: L.kron(_t(L, (3, 2)).mT, _t(L, (2,)))),
]


@pytest.mark.parametrize("label, call", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(label, call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value).__mro__[0] if type(theirs.value).__module__ ==
                       "builtins" else RuntimeError) as ours:
        call(hg)
    assert str(ours.value) == str(theirs.value)


@example(seed=0)
@SETTINGS
@given(seed=st.integers(0, 2 ** 16))
def test_float32_decompositions_are_close_to_torch(seed):
    rng = np.random.default_rng(seed)
    a = (rng.uniform(-1, 1, (3, 3)) + 4 * np.eye(3)).astype(np.float32)
    for name in ("inv", "det", "cholesky", "pinv", "svdvals", "eigvalsh"):
        x = a @ a.T if name == "cholesky" else a
        ours = getattr(hg.linalg, name)(hg.tensor(x))
        theirs = getattr(torch.linalg, name)(torch.tensor(x))
        assert_same(ours, theirs, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("driver", ["gels", "gelsd", "gelss", "gelsy"])
def test_lstsq_of_an_empty_matrix_has_torchs_residuals(driver):
    # gels leaves its residuals 0 for an empty A; gelsd and gelss report ||B||^2
    ours = hg.linalg.lstsq(hg.zeros(3, 0, dtype=hg.float64), hg.ones(3, 2, dtype=hg.float64),
                           driver=driver)
    theirs = torch.linalg.lstsq(torch.zeros(3, 0, dtype=torch.float64),
                                torch.ones(3, 2, dtype=torch.float64), driver=driver)
    np.testing.assert_array_equal(ours.residuals.numpy(), theirs.residuals.numpy())
    np.testing.assert_array_equal(ours.solution.numpy(), theirs.solution.numpy())


def test_solve_triangular_takes_its_matrix_as_input_keyword_like_torch():
    a = np.triu(np.arange(1.0, 10.0).reshape(3, 3))
    ours = hg.linalg.solve_triangular(input=hg.tensor(a), B=hg.ones(3, 2, dtype=hg.float64),
                                      upper=True)
    theirs = torch.linalg.solve_triangular(input=torch.tensor(a),
                                           B=torch.ones(3, 2, dtype=torch.float64), upper=True)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
