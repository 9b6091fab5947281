# dropstack's settings for the notebook server, in /usr/local/etc/jupyter (a folder on Jupyter's
# config path that the base image leaves empty). The password hook writes the password beside
# it, as jupyter_server_config.json. Note: jupyter_server reads only jupyter_server_config.py
# and .json from each config folder; jupyter_server_config.d/ is read for extensions only.
c = get_config()  # noqa: F821 (defined by the config loader)

# Behind dropstack's HTTPS proxy: take the scheme and client address from its X-Forwarded-*
# headers, so the server marks its login cookie Secure when the browser came over HTTPS (and
# only then: with dropstack:tls off it stays usable over plain HTTP).
c.ServerApp.trust_xheaders = True
