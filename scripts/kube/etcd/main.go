// A single-member etcd v3.6.4 for tests, from etcd's embed package: no TLS, no fsync (throwaway data),
// loopback only.
// Usage: etcd -data-dir DIR -client-url http://127.0.0.1:PORT -peer-url http://127.0.0.1:PORT
package main

import (
	"flag"
	"log"
	"net/url"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dataDir := flag.String("data-dir", "", "data directory (required)")
	clientURL := flag.String("client-url", "http://127.0.0.1:2379", "client URL to listen on and advertise")
	peerURL := flag.String("peer-url", "http://127.0.0.1:2380", "peer URL to listen on and advertise")
	flag.Parse()
	if *dataDir == "" {
		log.Fatal("-data-dir is required")
	}
	client, err := url.Parse(*clientURL)
	if err != nil {
		log.Fatal(err)
	}
	peer, err := url.Parse(*peerURL)
	if err != nil {
		log.Fatal(err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "kappa-test"
	cfg.Dir = *dataDir
	cfg.UnsafeNoFsync = true
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	<-e.Server.ReadyNotify()
	log.Printf("etcd ready on %s", client)
	log.Fatal(<-e.Err())
}
