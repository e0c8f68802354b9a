"""Integration test harness for callcentred and ccagent: a private MariaDB,
per-case certificates, databases and servers, a raw protocol client and a
ccagent driver. Python standard library only."""
