"""Bad input raises TypeError / ValueError with the reason (never a Rust panic); the GIL is
released around the work; calls work in forked children (PyTorch DataLoader workers)."""

import multiprocessing
import threading
import time

import numpy as np
import pytest

import boundary_loss as bl


def one_hot(labels, classes):
    return np.moveaxis(np.eye(classes, dtype=np.uint8)[labels], -1, 0)


LABELS = np.zeros((12, 14), np.int64)
LABELS[3:8, 4:10] = 1
SEG = one_hot(LABELS, 2)


@pytest.mark.parametrize(
    "call, error, reason",
    [
        (lambda: bl.one_hot2dist(SEG.astype(np.float32)), TypeError, "integer or bool"),
        (lambda: bl.one_hot2dist(np.array(3, np.uint8)), ValueError, "(K, *spatial)"),
        (lambda: bl.one_hot2dist(SEG[0]), ValueError, "not one-hot"),
        (lambda: bl.one_hot2dist(SEG * 2), ValueError, "only 0 and 1, found 2"),
        (lambda: bl.one_hot2dist(np.zeros_like(SEG)), ValueError, "in 0 channels"),
        (lambda: bl.one_hot2dist(SEG, (1.0,)), ValueError, "1 value(s) for 2 spatial axes"),
        (lambda: bl.one_hot2dist(SEG, (1.0, -2.0)), ValueError, "finite and positive, got -2"),
        (lambda: bl.one_hot2dist(SEG, (1.0, float("nan"))), ValueError, "finite and positive"),
        (lambda: bl.one_hot2dist(SEG, "1,1"), TypeError, "one per spatial axis"),
        (lambda: bl.one_hot2dist(SEG, dtype="not-a-dtype"), TypeError, "dtype"),
        (lambda: bl.one_hot2dist(object()), TypeError, "got dtype object"),
        (lambda: bl.one_hot2dist_batch(SEG), ValueError, "not one-hot"),
        (lambda: bl.one_hot2dist_batch(SEG[None], kind="sdf"), ValueError, "signed, hd"),
        (lambda: bl.label2dist(LABELS, classes=1), ValueError, "label 1 at element"),
        (lambda: bl.label2dist(LABELS - 1), ValueError, "label -1"),
        (lambda: bl.label2dist(LABELS.astype(float)), TypeError, "float64"),
        (lambda: bl.label2dist(np.array(1)), ValueError, "at least one axis"),
        (lambda: bl.label2dist(LABELS, border="inner"), ValueError, "voxel, corrected"),
        (lambda: bl.label2dist(LABELS, whole_image="nan"), ValueError, "scipy, zeros"),
        (lambda: bl.surface_metrics(LABELS, LABELS[:, :5]), ValueError, "shape"),
        (lambda: bl.surface_metrics(LABELS, LABELS, classes=1), ValueError, "not below classes=1"),
        (lambda: bl.surface_metrics(LABELS, LABELS, (1, 0)), ValueError, "finite and positive"),
        (lambda: bl.surface_metrics(LABELS, LABELS, empty_mask="zero"), ValueError, "diagonal, always_diagonal, nan"),
        (lambda: bl.surface_metrics(LABELS * 1.0, LABELS), TypeError, "pred"),
        (lambda: bl.set_num_threads(10**6), ValueError, "threads"),
    ],
)
def test_bad_input_is_a_python_error_with_the_reason(call, error, reason):
    with pytest.raises(error) as caught:
        call()
    assert reason in str(caught.value)


def test_the_first_bad_value_in_element_order_is_reported():
    """Whatever channel holds it and however the work is split: here the earlier bad value is in
    the later channel, and a third one lies past the first 65,536 elements."""
    seg = one_hot(np.zeros((300, 300), np.int64), 2).astype(np.int8)
    seg[0, 100, 0] = 4  # element 30,000, channel 0
    seg[1, 10, 0] = -3  # element 3,000, channel 1: the first in element order
    seg[0, 250, 10] = 7  # element 75,010
    for call in (lambda: bl.one_hot2dist(seg), lambda: bl.one_hot2dist_batch(seg[None])):
        with pytest.raises(ValueError) as caught:
            call()
        assert "only 0 and 1, found -3" in str(caught.value)
    seg[1, 10, 0] = 0
    with pytest.raises(ValueError) as caught:
        bl.one_hot2dist(seg)
    assert "found 4" in str(caught.value)


def test_the_gil_is_released_during_the_work():
    """While one thread computes a large map (one call), another runs Python code: with the GIL
    held it could not run at all in the middle half of the call."""
    labels = np.zeros((2, 192, 192, 96), np.uint8)
    labels[1, 40:150, 30:170, 20:80] = 1
    labels[0] = 1 - labels[1]
    ticks = []
    running = threading.Event()
    done = threading.Event()

    def ticker():
        running.set()
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    thread = threading.Thread(target=ticker)
    thread.start()
    running.wait()
    bl.set_num_threads(1)
    try:
        start = time.perf_counter()
        bl.one_hot2dist(labels, (0.9, 0.9, 2.5), np.float32)
        end = time.perf_counter()
    finally:
        bl.set_num_threads(0)
        done.set()
        thread.join()
    middle = [t for t in ticks if start + 0.25 * (end - start) < t < end - 0.25 * (end - start)]
    assert end - start > 0.05, "the workload is too small to tell"
    assert len(middle) > 3, f"no Python ran during {end - start:.3f} s of computing"


def test_two_threads_compute_at_once_and_agree():
    rng = np.random.default_rng(0)
    inputs = [one_hot((rng.random((64, 64)) > 0.5).astype(np.int64), 2) for _ in range(8)]
    expected = [bl.one_hot2dist(s, None, np.float32) for s in inputs]
    results = {}

    def work(i):
        results[i] = bl.one_hot2dist(inputs[i], None, np.float32)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        np.testing.assert_array_equal(results[i], expected[i])


def _child(queue):
    queue.put(float(bl.one_hot2dist(SEG, None, np.float64).sum()))


def test_a_forked_child_can_compute_after_the_parent_did():
    expected = float(bl.one_hot2dist(SEG, None, np.float64).sum())  # starts the parent's pool
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue,))
    child.start()
    child.join(timeout=120)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung (a thread pool inherited through fork)"
    assert child.exitcode == 0
    assert queue.get(timeout=5) == expected


def test_thread_count_can_be_set():
    bl.set_num_threads(1)
    assert bl.get_num_threads() == 1
    bl.set_num_threads(0)
    assert bl.get_num_threads() >= 1


def test_the_benchmark_hook_times_the_same_maps():
    times = bl._time_label_maps(LABELS.astype(np.uint8), 2, (0.5, 2.0), repeats=3)
    assert len(times) == 3 and all(t > 0 for t in times)
    with pytest.raises(ValueError, match="label 1 at element"):
        bl._time_label_maps(LABELS.astype(np.uint8), 1)
