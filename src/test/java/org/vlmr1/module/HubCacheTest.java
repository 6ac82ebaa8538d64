// HubCache on temporary folders laid out as huggingface_hub leaves them: folders, ids, the environment's order of
// precedence, "~", and the errors.
package org.vlmr1.module;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HubCacheTest {
  static final String ID = "Qwen/Qwen2.5-VL-3B-Instruct";

  /** A hub folder holding {@link #ID} at {@code commit}, as huggingface_hub writes it; returns the snapshot. */
  static Path cache(Path hub, String commit) throws Exception {
    Path repo = hub.resolve("models--Qwen--Qwen2.5-VL-3B-Instruct");
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs/main"), commit); // huggingface_hub writes the hash without a newline
    Path blob = Files.createDirectories(repo.resolve("blobs")).resolve("0a1b");
    Files.writeString(blob, "{\"model_type\": \"qwen2_5_vl\"}");
    Path snap = Files.createDirectories(repo.resolve("snapshots").resolve(commit));
    Files.createSymbolicLink(snap.resolve("config.json"), blob);
    return snap;
  }

  @Test
  void anExistingFolderIsUsedAsIs(@TempDir Path dir) throws Exception {
    Path ckpt = Files.createDirectories(dir.resolve("Qwen/Qwen2.5-VL-3B-Instruct"));
    cache(dir.resolve("hub"), "c0ffee");
    assertEquals(ckpt, HubCache.resolve(ckpt.toString(), Map.of("HF_HUB_CACHE", dir.resolve("hub").toString())));
  }

  @Test
  void anIdResolvesToTheSnapshotOfRefsMain(@TempDir Path dir) throws Exception {
    Path snap = cache(dir.resolve("hub"), "8f1c2d3e4b5a69788796a5b4c3d2e1f00112233");
    // A second snapshot that refs/main does not name must not be chosen.
    Files.createDirectories(snap.getParent().resolve("0000000000000000000000000000000000000000"));
    Path got = HubCache.resolve(ID, Map.of("HF_HUB_CACHE", dir.resolve("hub").toString()));
    assertEquals(snap, got);
    assertEquals("qwen2_5_vl", VlmModules.modelType(got), "config.json read through the blob symlink");
  }

  @Test
  void theEnvironmentChoosesTheHubFolderInHuggingFaceHubsOrder(@TempDir Path dir) throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("HOME", dir.resolve("home").toString());
    Path byHome = cache(dir.resolve("home/.cache/huggingface/hub"), "a1");
    assertEquals(byHome, HubCache.resolve(ID, env), "~/.cache/huggingface/hub when nothing is set");
    env.put("XDG_CACHE_HOME", dir.resolve("xdg").toString());
    Path byXdg = cache(dir.resolve("xdg/huggingface/hub"), "b2");
    assertEquals(byXdg, HubCache.resolve(ID, env));
    env.put("HF_HOME", dir.resolve("hfhome").toString());
    Path byHfHome = cache(dir.resolve("hfhome/hub"), "c3");
    assertEquals(byHfHome, HubCache.resolve(ID, env));
    env.put("HUGGINGFACE_HUB_CACHE", dir.resolve("legacy").toString());
    Path byLegacy = cache(dir.resolve("legacy"), "d4");
    assertEquals(byLegacy, HubCache.resolve(ID, env));
    env.put("HF_HUB_CACHE", dir.resolve("hubcache").toString());
    Path byHubCache = cache(dir.resolve("hubcache"), "e5");
    assertEquals(byHubCache, HubCache.resolve(ID, env));
    // An empty variable counts as unset, as in huggingface_hub's constants.
    env.put("HF_HUB_CACHE", "");
    assertEquals(byLegacy, HubCache.resolve(ID, env));
  }

  @Test
  void aLeadingTildeIsTheHomeFolder(@TempDir Path dir) throws Exception {
    Path snap = cache(dir.resolve("hf/hub"), "f6");
    assertEquals(snap, HubCache.resolve(ID, Map.of("HF_HOME", "~/hf", "HOME", dir.toString())));
  }

  @Test
  void aMissingModelNamesTheFoldersAndVariables(@TempDir Path dir) throws Exception {
    Map<String, String> env = Map.of("HF_HOME", dir.resolve("hfhome").toString());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HubCache.resolve("OpenGVLab/InternVL2_5-4B-MPO", env));
    String m = e.getMessage();
    assertTrue(m.contains(dir.resolve("hfhome/hub/models--OpenGVLab--InternVL2_5-4B-MPO/refs/main").toString()), m);
    assertTrue(m.contains("HF_HOME=" + dir.resolve("hfhome")), m);
    assertTrue(m.contains("never downloads"), m);
    assertFalse(m.contains("\n"), "one line: the CLI prints the first line only");

    IllegalArgumentException d = assertThrows(IllegalArgumentException.class,
        () -> HubCache.resolve("OpenGVLab/InternVL2_5-4B-MPO", Map.of("HOME", dir.toString())));
    for (String var : new String[] {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"}) {
      assertTrue(d.getMessage().contains(var), d.getMessage());
    }
    assertTrue(d.getMessage().contains(dir.resolve(".cache/huggingface/hub").toString()), d.getMessage());
  }

  @Test
  void aRefWithoutItsSnapshotIsAnError(@TempDir Path dir) throws Exception {
    Path snap = cache(dir.resolve("hub"), "1111");
    Files.writeString(snap.getParent().getParent().resolve("refs/main"), "2222");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HubCache.resolve(ID, Map.of("HF_HUB_CACHE", dir.resolve("hub").toString())));
    assertTrue(e.getMessage().contains("snapshots/2222"), e.getMessage());

    // No refs/main at all (e.g. downloaded at a pinned revision): the snapshots that are there are listed.
    Files.delete(snap.getParent().getParent().resolve("refs/main"));
    e = assertThrows(IllegalArgumentException.class,
        () -> HubCache.resolve(ID, Map.of("HF_HUB_CACHE", dir.resolve("hub").toString())));
    assertTrue(e.getMessage().contains("snapshots there: 1111"), e.getMessage());
  }

  @Test
  void aPathThatIsNeitherFolderNorIdSaysSo(@TempDir Path dir) {
    String missing = dir.resolve("no/such/checkpoint").toString();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HubCache.resolve(missing, Map.of("HF_HUB_CACHE", dir.toString())));
    assertTrue(e.getMessage().contains("no such folder"), e.getMessage());
    assertTrue(HubCache.looksLikeId("Qwen/Qwen2.5-VL-3B-Instruct") && HubCache.looksLikeId("gpt2"));
    assertFalse(HubCache.looksLikeId("./ckpt") || HubCache.looksLikeId("a/b/c") || HubCache.looksLikeId("a--b/c")
        || HubCache.looksLikeId("/abs/path") || HubCache.looksLikeId("a/..b"));
  }
}
