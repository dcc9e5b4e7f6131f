#!/usr/bin/env bash
# Prints the directory holding a real single-node YARN and Spark for the test tier and the sandbox, fetching and
# building it once into $KAPPA_CACHE/yarn-hadoop3.4.1-spark4.0.1 (default ~/.cache/kappa):
#   hadoop/           Hadoop 3.4.1's MiniYARNCluster and YARN client jars (Maven Central, scripts/yarn/pom.xml)
#   pyspark/          SPARK_HOME: pyspark 4.0.1 from PyPI laid out as pip installs it (jars/, bin/)
#   launcher.jar      scripts/yarn/src/LocalYarnLauncher.java: the ResourceManager + NodeManager JVM
#   rate-app.jar      scripts/yarn/src/RateApp.java: a Structured Streaming app (class RateApp), the workload
# Submits use `spark.yarn.jars=local:$SPARK_HOME/jars/*` (the jars are on the only node already): a
# spark.yarn.archive on file:// would be copied to the staging dir and unpacked by the NodeManager on every
# submit (~440 MB each), since Spark always uploads file: resources.
# Needs a JDK 17+ (java, javac, jar), Maven (mvn) and Python's pip. A cold fetch and build takes a few minutes
# (~110 MB of jars, ~430 MB of pyspark); later calls take milliseconds. A change to the Java sources rebuilds
# only the two jars. Progress goes to stderr; stdout is only the directory.
set -euo pipefail

HADOOP_VERSION=3.4.1
SPARK_VERSION=4.0.1
src="$(cd "$(dirname "$0")/yarn" && pwd)"
cache="${KAPPA_CACHE:-$HOME/.cache/kappa}"
dir="$cache/yarn-hadoop$HADOOP_VERSION-spark$SPARK_VERSION"

sources_hash() { cat "$src"/src/*.java | sha256sum | cut -d' ' -f1; }
ready() {
  [ -f "$dir/hadoop/.complete" ] && [ -x "$dir/pyspark/bin/spark-submit" ] &&
    [ -f "$dir/launcher.jar" ] && [ -f "$dir/rate-app.jar" ] &&
    [ "$(cat "$dir/sources.sha256" 2>/dev/null)" = "$(sources_hash)" ]
}
if ready; then echo "$dir"; exit 0; fi

fail() { echo "kappa: $*" >&2; exit 1; }
for tool in java javac jar; do
  command -v "$tool" >/dev/null 2>&1 || fail "the local YARN needs a JDK 17 or later ($tool on PATH)"
done
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[ "${java_major%%.*}" -ge 17 ] 2>/dev/null || fail "Spark $SPARK_VERSION needs Java 17 or later; java is $java_major"

mkdir -p "$dir"
# One fetch at a time, even when several test files ask at once.
exec 9>"$cache/yarn-hadoop$HADOOP_VERSION-spark$SPARK_VERSION.lock"
flock 9
if ready; then echo "$dir"; exit 0; fi

# Runs a quiet command and says every 30 s that it is still at work.
step() { # what, command...
  local what="$1" start=$SECONDS rc=0
  shift
  echo "kappa: $what..." >&2
  (while sleep 30; do echo "kappa: still $what ($((SECONDS - start)) s)" >&3; done) 3>&2 >/dev/null 2>&1 &
  local heartbeat=$!
  "$@" >&2 || rc=$?
  # Ending its sleep ends the loop (no stray sleep keeps our stderr open); then the loop itself, in case.
  pkill -P "$heartbeat" 2>/dev/null || true
  kill "$heartbeat" 2>/dev/null || true
  wait "$heartbeat" 2>/dev/null || true
  [ "$rc" -eq 0 ] || fail "$what failed (exit $rc)"
  echo "kappa: $what: done in $((SECONDS - start)) s" >&2
}

# Debian's Maven prints colour resets even in batch mode: strip them (pipefail keeps Maven's exit code).
mvn_quiet() { mvn "$@" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d'; }

if [ ! -f "$dir/hadoop/.complete" ]; then
  command -v mvn >/dev/null 2>&1 || fail "fetching Hadoop's jars needs Maven (mvn on PATH)"
  rm -rf "$dir/hadoop.tmp"
  # The Maven repository sits in the cache too: a rebuild of this directory does not download again.
  step "fetching Hadoop $HADOOP_VERSION MiniYARNCluster jars from Maven Central (~110 MB, once)" \
    mvn_quiet -B -q -f "$src/pom.xml" -Dmaven.repo.local="$cache/maven-repository" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/hadoop.tmp"
  ls "$dir/hadoop.tmp"/hadoop-yarn-server-tests-*-tests.jar >/dev/null 2>&1 ||
    fail "Maven fetched no hadoop-yarn-server-tests tests jar into $dir/hadoop.tmp"
  touch "$dir/hadoop.tmp/.complete"
  rm -rf "$dir/hadoop"
  mv "$dir/hadoop.tmp" "$dir/hadoop"
fi

if [ ! -x "$dir/pyspark/bin/spark-submit" ]; then
  python="$(command -v python3 || command -v python || true)"
  [ -n "$python" ] || fail "fetching pyspark needs Python with pip (python3 on PATH)"
  rm -rf "$dir/download" "$dir/pyspark.tmp" "$dir/pyspark"
  mkdir -p "$dir/download" "$dir/pyspark.tmp"
  step "downloading pyspark $SPARK_VERSION from PyPI (~430 MB, once)" \
    "$python" -m pip download -q --progress-bar off --no-deps --disable-pip-version-check \
    -d "$dir/download" "pyspark==$SPARK_VERSION"
  archive="$(ls "$dir/download"/pyspark-"$SPARK_VERSION"* 2>/dev/null | head -n 1 || true)"
  # PyPI has an sdist (jars under deps/, as setup.py copies them on install); a wheel has them in place.
  case "$archive" in
    *.tar.gz)
      step "unpacking pyspark" tar -xzf "$archive" -C "$dir/pyspark.tmp" \
        "pyspark-$SPARK_VERSION/pyspark" "pyspark-$SPARK_VERSION/deps/jars" "pyspark-$SPARK_VERSION/deps/bin"
      mv "$dir/pyspark.tmp/pyspark-$SPARK_VERSION/pyspark" "$dir/pyspark.tmp/home"
      mv "$dir/pyspark.tmp/pyspark-$SPARK_VERSION/deps/jars" "$dir/pyspark.tmp/home/jars"
      mv "$dir/pyspark.tmp/pyspark-$SPARK_VERSION/deps/bin" "$dir/pyspark.tmp/home/bin"
      ;;
    *.whl)
      step "unpacking pyspark" "$python" -m zipfile -e "$archive" "$dir/pyspark.tmp"
      mv "$dir/pyspark.tmp/pyspark" "$dir/pyspark.tmp/home"
      chmod +x "$dir/pyspark.tmp/home/bin"/*
      ;;
    *) fail "pip downloaded no pyspark archive into $dir/download" ;;
  esac
  [ -x "$dir/pyspark.tmp/home/bin/spark-submit" ] && ls "$dir/pyspark.tmp/home/jars"/spark-yarn_*.jar >/dev/null 2>&1 ||
    fail "pyspark $SPARK_VERSION has no bin/spark-submit or spark-yarn jar"
  mv "$dir/pyspark.tmp/home" "$dir/pyspark"
  rm -rf "$dir/pyspark.tmp" "$dir/download"
fi

hash="$(sources_hash)"
if [ "$(cat "$dir/sources.sha256" 2>/dev/null)" != "$hash" ] || [ ! -f "$dir/launcher.jar" ] ||
  [ ! -f "$dir/rate-app.jar" ]; then
  build="$dir/build"
  rm -rf "$build" "$dir/sources.sha256"
  mkdir -p "$build/launcher" "$build/rate-app"
  step "compiling the YARN launcher" \
    javac -nowarn -d "$build/launcher" -cp "$dir/hadoop/*" "$src/src/LocalYarnLauncher.java"
  step "compiling the streaming app" \
    javac -nowarn -d "$build/rate-app" -cp "$dir/pyspark/jars/*" "$src/src/RateApp.java"
  jar --create --file "$dir/launcher.jar" -C "$build/launcher" .
  jar --create --file "$dir/rate-app.jar" -C "$build/rate-app" .
  rm -rf "$build"
  echo "$hash" >"$dir/sources.sha256"
fi

ready || fail "the local YARN in $dir is incomplete after building it"
echo "$dir"
