"""The benchmarks behind ``adago-theory bench WHAT``: ratios measured in one run, on this machine."""
