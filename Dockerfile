# freqtrade-ai-suite on Freqtrade's official FreqAI image: the suite's packages (plugins/,
# adapters/) installed with the pinned constraints, its strategies and FreqAI models copied in.
# user_data/ and config/ stay volumes (docker-compose.yml). Secrets never enter the image: they
# come from the environment at run time (README "Secrets and keys").
#
#   docker compose build                  (docker-compose.yml builds and tags it)
#   docker build -t freqtrade-ai-suite .
#
# The tag of the base image is the Freqtrade version pinned in pyproject.toml
# (tests/test_docker_compose.py checks it). The install command below is the one
# tests/test_image_install.py runs in a clean virtualenv.
FROM freqtradeorg/freqtrade:2026.9_freqai

# Freqtrade's image installs Python packages as ftuser (pip --user); so do we.
USER ftuser
WORKDIR /freqtrade

COPY --chown=ftuser:ftuser pyproject.toml constraints.txt README.md /opt/ai-suite/
COPY --chown=ftuser:ftuser plugins /opt/ai-suite/plugins
COPY --chown=ftuser:ftuser adapters /opt/ai-suite/adapters
# torch is pinned at 2.13.0 and used on the CPU only: pass PyTorch's CPU wheel index as
# --build-arg PIP_EXTRA_INDEX_URL=... to avoid the CUDA wheels (pip reads it from the env).
ARG PIP_EXTRA_INDEX_URL=""
RUN pip install --user --no-cache-dir -c /opt/ai-suite/constraints.txt /opt/ai-suite \
    && python -c "import plugins.guard, plugins.metrics, adapters.replay_exchange, hmmlearn, jumpmodels, anthropic, alpaca, exchange_calendars, prometheus_client"

# Strategies and FreqAI models load from paths (--strategy-path / --freqaimodel-path).
COPY --chown=ftuser:ftuser strategies /freqtrade/strategies
COPY --chown=ftuser:ftuser freqai_models /freqtrade/freqai_models

# the suite's Prometheus exporter (ai_suite.metrics.port); Freqtrade's REST API is 8080
EXPOSE 8080 9108
ENTRYPOINT ["freqtrade"]
CMD ["trade"]
