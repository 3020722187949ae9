"""Batch prediction: ``covidseg predict`` over many cases into one output folder.

``cli`` (the ``covidseg predict`` command), ``pipeline`` (the case loop: reading ahead,
running the networks, a background writer), ``parts`` (``--num-parts``/``--part-id``),
``case`` (writing one case folder: masks, pictures, report.json with its run record and
manifest), ``outputs`` (case names, staging folders, the output-folder lock, resume checks,
``summary.csv``). Running the networks is :mod:`covidseg.inference`; what a report says and
draws is :mod:`covidseg.report`.
"""
