package main

// Where the node agent keeps what a kubelet would know about a container: the exec spec it
// writes at each start (<state>/pods/<ns>_<pod>_<uid>/exec/<container>.json) and the log it
// appends to (<state>/pods/<ns>_<pod>_<uid>/logs/<container>.log). This file only reads them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ExecSpec is how a command runs "inside" a container here: with the container's environment
// and working directory, wrapped to enter the Pod's network namespace when it has one, and with
// the image's own commands (the echo-advanced image's `client`) mapped to host programs.
type ExecSpec struct {
	Env      map[string]string   `json:"env"`
	Cwd      string              `json:"cwd"`
	Wrap     []string            `json:"wrap"`
	Commands map[string][]string `json:"commands"`
}

// ErrNotFound means no running container of that name: answered 404, as a kubelet does.
var ErrNotFound = errors.New("not found")

// podDirs lists the Pod's directories, newest first: a Pod recreated under the same name
// leaves the old one's logs behind.
func podDirs(stateDir, namespace, pod string) []string {
	matches, _ := filepath.Glob(filepath.Join(stateDir, "pods", fmt.Sprintf("%s_%s_*", namespace, pod)))
	var dirs []string
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), namespace+"_"+pod+"_")
		if strings.Contains(rest, "_") {
			continue // another Pod whose name extends this one's
		}
		dirs = append(dirs, m)
	}
	sort.Slice(dirs, func(i, j int) bool { return modTime(dirs[i]) > modTime(dirs[j]) })
	return dirs
}

func modTime(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.ModTime().UnixNano()
}

// LoadExecSpec reads the spec of a running container (the agent removes it when the Pod stops).
func LoadExecSpec(stateDir, namespace, pod, container string) (*ExecSpec, error) {
	for _, dir := range podDirs(stateDir, namespace, pod) {
		data, err := os.ReadFile(filepath.Join(dir, "exec", container+".json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		spec := &ExecSpec{}
		if err := json.Unmarshal(data, spec); err != nil {
			return nil, fmt.Errorf("exec spec of %s/%s/%s: %w", namespace, pod, container, err)
		}
		return spec, nil
	}
	return nil, fmt.Errorf("container %s/%s/%s: %w", namespace, pod, container, ErrNotFound)
}

// LogPath is the container's log file, of the newest Pod of that name that has one.
func LogPath(stateDir, namespace, pod, container string) (string, error) {
	for _, dir := range podDirs(stateDir, namespace, pod) {
		path := filepath.Join(dir, "logs", container+".log")
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("log of %s/%s/%s: %w", namespace, pod, container, ErrNotFound)
}

// Argv is the host argv for a command run in the container: the image's own command mapped to
// its host program, the rest looked up on the container's PATH as a shell would.
func (s *ExecSpec) Argv(cmd []string) []string {
	if len(cmd) == 0 {
		return nil
	}
	argv := append([]string{}, cmd...)
	if mapped, ok := s.Commands[cmd[0]]; ok {
		argv = append(append([]string{}, mapped...), cmd[1:]...)
	}
	return append(append([]string{}, s.Wrap...), argv...)
}

// Environ is the spec's environment as os/exec takes it, sorted for a stable order.
func (s *ExecSpec) Environ() []string {
	out := make([]string, 0, len(s.Env))
	for k, v := range s.Env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
