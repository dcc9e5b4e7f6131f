// The workload of Kappa's real YARN tier: a Spark Structured Streaming app (rate source -> noop sink) that runs
// until killed, or a small batch job. Compiled against $SPARK_HOME/jars by scripts/ensure-yarn.sh.
//
// Flags (all optional):
//   --seconds N   end after N seconds (default: a streaming run never ends)
//   --fail        at the end, throw instead of ending normally (YARN says FAILED with the exception)
//   --batch       a batch job: small Spark jobs for --seconds (default 10), then end or throw
// The app name comes from spark-submit's --name.
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;

public final class RateApp {
  private RateApp() {}

  public static void main(String[] args) throws Exception {
    long seconds = -1;
    boolean fail = false;
    boolean batch = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--seconds":
          if (i + 1 >= args.length) throw new IllegalArgumentException("RateApp: --seconds needs a number");
          seconds = Long.parseLong(args[++i]);
          break;
        case "--fail":
          fail = true;
          break;
        case "--batch":
          batch = true;
          break;
        default:
          throw new IllegalArgumentException("RateApp: unknown argument " + args[i]);
      }
    }
    SparkSession spark = SparkSession.builder().getOrCreate();
    long started = System.nanoTime();
    if (batch) {
      long limit = TimeUnit.SECONDS.toNanos(seconds < 0 ? 10 : seconds);
      while (System.nanoTime() - started < limit) {
        spark.range(1000).selectExpr("sum(id)").collect();
        Thread.sleep(1000);
      }
    } else {
      StreamingQuery query =
          spark
              .readStream()
              .format("rate")
              .option("rowsPerSecond", 1)
              .load()
              .writeStream()
              .format("noop")
              // One micro-batch a second: a live query that costs next to no CPU.
              .trigger(Trigger.ProcessingTime(1000))
              .option("checkpointLocation", Files.createTempDirectory("rate-app-checkpoint").toString())
              .start();
      if (seconds < 0) {
        query.awaitTermination();
      } else {
        query.awaitTermination(TimeUnit.SECONDS.toMillis(seconds));
        query.stop();
      }
    }
    if (fail) {
      throw new IllegalStateException(
          "RateApp: deliberate failure after " + (System.nanoTime() - started) / 1_000_000_000L + " s");
    }
    spark.stop();
  }
}
