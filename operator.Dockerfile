# The meshgate operator image: the package with its `operator` extra, non-root.
# Build from the repository root: docker build -f operator.Dockerfile -t meshgate-operator .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY operator operator
COPY proxy-image/meshproxy proxy-image/meshproxy
# At the versions constraints.txt pins: what the tests ran against.
RUN pip install --no-cache-dir -c constraints.txt --prefix=/install '.[operator]'

FROM python:3.11-slim
COPY --from=build /install /usr/local
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin meshgate
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8080 9443
ENTRYPOINT ["meshgate"]
CMD ["operator"]
