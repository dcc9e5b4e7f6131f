// A real single-node YARN for Kappa's test tier and sandbox: Hadoop's MiniYARNCluster (one ResourceManager and
// one NodeManager in this JVM), everything bound to 127.0.0.1, the RM on fixed ports so clients and a restarted
// RM agree, RM recovery on so applications survive an RM restart. Compiled by scripts/ensure-yarn.sh; started by
// src/sandbox/local-yarn.ts.
//
// Usage: LocalYarnLauncher WORK_DIR RM_PORT SCHEDULER_PORT TRACKER_PORT ADMIN_PORT WEB_PORT [NM_MEMORY_MB]
// stdout gets one line per event, the only lines a caller parses:
//   kappa-yarn: ready rm=127.0.0.1:PORT web=http://127.0.0.1:PORT
//   kappa-yarn: rm-stopped | kappa-yarn: rm-started | kappa-yarn: stopped | kappa-yarn: error <message>
// stdin takes commands, one a line: rm-stop, rm-start, stop. End of stdin means stop, so the cluster (and the
// containers its NodeManager started) ends with whoever started it.
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.service.Service;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.NodeManager;
import org.apache.hadoop.yarn.server.resourcemanager.ResourceManager;

public final class LocalYarnLauncher {
  private static final String HOST = "127.0.0.1";
  // Log4j writes to stderr; stdout is reserved for the event lines, so keep our own handle on it.
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

  private LocalYarnLauncher() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 6) {
      System.err.println(
          "usage: LocalYarnLauncher WORK_DIR RM_PORT SCHEDULER_PORT TRACKER_PORT ADMIN_PORT WEB_PORT [NM_MEMORY_MB]");
      System.exit(2);
    }
    File work = new File(args[0]).getAbsoluteFile();
    int nmMemory = args.length > 6 ? Integer.parseInt(args[6]) : 4096;
    Configuration conf = configuration(work, args[1], args[2], args[3], args[4], args[5], nmMemory);

    // MiniYARNCluster keeps its directories under target/<name> relative to the working directory: the caller
    // starts us in WORK_DIR, and the name is fixed so a restart of the JVM finds nothing it expects.
    MiniYARNCluster cluster = new MiniYARNCluster("local-yarn", 1, 1, 1, 1);
    cluster.init(conf);
    cluster.start();
    // In a fresh MiniYARNCluster the NodeManager's web app starts last and takes over a static Guice filter, so
    // the RM's REST API (/ws/v1/cluster/apps) answers 404; an RM restarted after the NM serves it.
    restartRm(cluster);
    waitForNodeManager(cluster);
    waitForRest(args[5]);
    OUT.println("kappa-yarn: ready rm=" + HOST + ":" + args[1] + " web=http://" + HOST + ":" + args[5]);

    Runtime.getRuntime().addShutdownHook(new Thread(() -> stopNodeManager(cluster)));
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String command = line.trim();
      try {
        switch (command) {
          case "rm-stop":
            cluster.stopResourceManager(0);
            OUT.println("kappa-yarn: rm-stopped");
            break;
          case "rm-start":
            restartRm(cluster);
            OUT.println("kappa-yarn: rm-started");
            break;
          case "stop":
            halt(cluster);
            break;
          case "":
            break;
          default:
            OUT.println("kappa-yarn: error unknown command " + command);
        }
      } catch (Exception e) {
        OUT.println("kappa-yarn: error " + command + ": " + e);
      }
    }
    halt(cluster);
  }

  private static Configuration configuration(
      File work, String rm, String scheduler, String tracker, String admin, String web, int nmMemory) {
    YarnConfiguration conf = new YarnConfiguration();
    // No HDFS: staging, the Spark archive and the RM state store are local files.
    conf.set("fs.defaultFS", "file:///");
    conf.set("hadoop.tmp.dir", new File(work, "hadoop-tmp").getPath());

    // Fixed RM ports (the ones given), so a restarted RM is where clients and the NodeManager look for it.
    conf.setBoolean("yarn.minicluster.fixed.ports", true);
    // The NodeManager talks to the RM over RPC (not in-process), which lets it re-register after an RM restart.
    conf.setBoolean("yarn.minicluster.use-rpc", true);
    conf.set("yarn.resourcemanager.hostname", HOST);
    conf.set("yarn.resourcemanager.address", HOST + ":" + rm);
    conf.set("yarn.resourcemanager.scheduler.address", HOST + ":" + scheduler);
    conf.set("yarn.resourcemanager.resource-tracker.address", HOST + ":" + tracker);
    conf.set("yarn.resourcemanager.admin.address", HOST + ":" + admin);
    conf.set("yarn.resourcemanager.webapp.address", HOST + ":" + web);
    conf.set("yarn.resourcemanager.bind-host", HOST);
    // NodeManager ports are ephemeral (port 0) but on loopback; its node id host is 127.0.0.1, which is also
    // the address Spark executors bind to (they are given their node's host name).
    conf.set("yarn.nodemanager.hostname", HOST);
    conf.set("yarn.nodemanager.address", HOST + ":0");
    conf.set("yarn.nodemanager.localizer.address", HOST + ":0");
    conf.set("yarn.nodemanager.webapp.address", HOST + ":0");
    conf.set("yarn.nodemanager.collector-service.address", HOST + ":0");
    conf.set("yarn.nodemanager.bind-host", HOST);
    conf.set("yarn.timeline-service.bind-host", HOST);
    conf.set("yarn.timeline-service.hostname", HOST);
    conf.setBoolean("yarn.timeline-service.enabled", false);
    conf.set("yarn.web-proxy.address", "");

    // Recovery: applications (and their running containers) survive an RM restart.
    conf.setBoolean("yarn.resourcemanager.recovery.enabled", true);
    conf.setBoolean("yarn.resourcemanager.work-preserving-recovery.enabled", true);
    conf.set(
        "yarn.resourcemanager.store.class",
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore");
    conf.set("yarn.resourcemanager.fs.state-store.uri", new File(work, "rm-state").toURI().toString());
    // The NodeManager (a client of the RM) retries every second, for ever: it re-registers within seconds of
    // the RM coming back, however long it was down.
    conf.setLong("yarn.resourcemanager.connect.retry-interval.ms", 1000);
    conf.setLong("yarn.nodemanager.resourcemanager.connect.retry-interval.ms", 1000);
    conf.setLong("yarn.nodemanager.resourcemanager.connect.max-wait.ms", -1);

    // Room for two small Spark apps (AM 896 MB + one 896 MB executor each) on a laptop.
    conf.setInt("yarn.minicluster.yarn.nodemanager.resource.memory-mb", nmMemory);
    conf.setInt("yarn.nodemanager.resource.memory-mb", nmMemory);
    conf.setInt("yarn.nodemanager.resource.cpu-vcores", 8);
    conf.setInt("yarn.scheduler.minimum-allocation-mb", 256);
    // The minicluster's capacity-scheduler.xml lets AMs take 10% of the node: one Spark app at a time.
    conf.setFloat("yarn.scheduler.capacity.maximum-am-resource-percent", 0.5f);
    conf.setInt("yarn.scheduler.maximum-allocation-mb", nmMemory);
    conf.setBoolean("yarn.nodemanager.vmem-check-enabled", false);
    conf.setBoolean("yarn.nodemanager.pmem-check-enabled", false);
    // The disk health checker would mark the node unhealthy on a nearly full disk and no container would run.
    conf.setFloat("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", 99.9f);
    conf.setLong("yarn.nodemanager.disk-health-checker.min-free-space-per-disk-mb", 0);
    // Containers run `$JAVA_HOME/bin/java`: give them this JVM's.
    conf.set(
        "yarn.nodemanager.env-whitelist",
        "JAVA_HOME,HADOOP_COMMON_HOME,HADOOP_HDFS_HOME,HADOOP_CONF_DIR,CLASSPATH_PREPEND_DISTCACHE,"
            + "HADOOP_YARN_HOME,HADOOP_HOME,PATH,LANG,TZ");
    conf.set("yarn.nodemanager.admin-env", "JAVA_HOME=" + System.getProperty("java.home"));
    // Finished containers are deleted at once; log aggregation needs HDFS-like storage we do not have.
    conf.setInt("yarn.nodemanager.delete.debug-delay-sec", 0);
    conf.setBoolean("yarn.log-aggregation-enable", false);
    // A stopped or killed container gets 2 s between SIGTERM and SIGKILL (default 250 ms is fine too).
    conf.setLong("yarn.nodemanager.sleep-delay-before-sigkill.ms", 2000);
    return conf;
  }

  private static void restartRm(MiniYARNCluster cluster) throws Exception {
    cluster.restartResourceManager(0);
    ResourceManager rm = cluster.getResourceManager(0);
    long deadline = System.currentTimeMillis() + 60_000;
    while (rm.getServiceState() != Service.STATE.STARTED) {
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("RM did not start");
      Thread.sleep(100);
    }
  }

  private static void waitForNodeManager(MiniYARNCluster cluster) throws Exception {
    if (!cluster.waitForNodeManagersToConnect(60_000)) {
      OUT.println("kappa-yarn: error the NodeManager did not register with the ResourceManager");
      System.exit(1);
    }
  }

  private static void waitForRest(String webPort) throws Exception {
    URL url = new URL("http://" + HOST + ":" + webPort + "/ws/v1/cluster/apps");
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try {
        HttpURLConnection c = (HttpURLConnection) url.openConnection();
        c.setConnectTimeout(2000);
        c.setReadTimeout(5000);
        c.setRequestProperty("Accept", "application/json");
        int status = c.getResponseCode();
        c.disconnect();
        if (status == 200) return;
      } catch (java.io.IOException e) {
        // not up yet
      }
      if (System.currentTimeMillis() > deadline) {
        OUT.println("kappa-yarn: error the ResourceManager REST API did not answer 200 on " + url);
        System.exit(1);
      }
      Thread.sleep(250);
    }
  }

  // MiniYARNCluster.stop() waits for ApplicationMasters to unregister, which a streaming app never does: stop
  // only the NodeManager (it kills its containers, SIGTERM then SIGKILL) and end the JVM without more ado.
  private static void halt(MiniYARNCluster cluster) {
    stopNodeManager(cluster);
    OUT.println("kappa-yarn: stopped");
    Runtime.getRuntime().halt(0);
  }

  private static void stopNodeManager(MiniYARNCluster cluster) {
    try {
      NodeManager nm = cluster.getNodeManager(0);
      if (nm != null) nm.stop();
    } catch (RuntimeException e) {
      System.err.println("kappa-yarn: stopping the NodeManager: " + e);
    }
  }
}
