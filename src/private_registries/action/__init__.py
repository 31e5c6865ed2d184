"""The GitHub Action's face: its inputs become the services' options; their results become the
step's outputs, env, summary and log.

inputs.py reads the inputs; runner.py knows the runner's mounts and host paths; state.py is what
main hands to post; main.py and post.py are the stages; summary.py writes the step summary.
"""
