"""The test bench: real servers (dockerd, the Distribution registry, moto, a token server and a GitHub
API stand-in) that tests start on free loopback ports and stop when done."""
