r"""The application shell of adago-theory: what sits on top of the math kernel.

The kernel (:mod:`adago_theory` itself: backends, orthogonalization, norms and error measures, optimizers, the run
loop) imports nothing from here.  The shell imports the kernel, ``problems`` and ``verify`` explicitly:

``cli``
    the ``adago-theory`` command line,
``sweep``
    grids of runs, the resumable store, sweep plots,
``bench``
    the benchmarks behind ``adago-theory bench``,
``plotting``
    the project's figure style and atomic figure writer,
``info``, ``demo``, ``docs_build``
    ``adago-theory info``, the demo table, ``adago-theory docs``.
"""
