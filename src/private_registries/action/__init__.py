"""The GitHub Action's two stages: `main` (log in, check, build, hand over) and `post` (log out).

inputs.py reads the action's inputs; main.py and post.py are the stages; summary.py writes the
step summary. The runner's facts (mounts, host paths) are in deploy/handover.py.
"""
