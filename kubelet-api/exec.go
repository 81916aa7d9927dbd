package main

// Running an exec'd command: the container's environment, a cap on its time (an exec must never
// hang the API server's stream), its exit code reported as a kubelet reports it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/utils/exec"
)

type executor struct {
	stateDir  string
	namespace string
	limit     time.Duration
}

func (e *executor) ExecInContainer(
	ctx context.Context, pod string, _ types.UID, container string, cmd []string,
	in io.Reader, out, errOut io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize,
	_ time.Duration,
) error {
	if tty {
		return errors.New("a TTY is not supported by the local node agent")
	}
	spec, err := LoadExecSpec(e.stateDir, e.namespace, pod, container)
	if err != nil {
		return err
	}
	argv := spec.Argv(cmd)
	if len(argv) == 0 {
		return errors.New("no command given")
	}
	ctx, cancel := context.WithTimeout(ctx, e.limit)
	defer cancel()
	proc := exec.CommandContext(ctx, argv[0], argv[1:]...)
	proc.Env = spec.Environ()
	proc.Dir = spec.Cwd
	// Its own process group, killed whole when the cap is reached: `sh -c` children too.
	proc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	proc.Cancel = func() error { return syscall.Kill(-proc.Process.Pid, syscall.SIGKILL) }
	proc.WaitDelay = time.Second
	if in != nil {
		proc.Stdin = in
	}
	if out != nil {
		proc.Stdout = out
	}
	if errOut != nil {
		proc.Stderr = errOut
	}
	err = proc.Run()
	if ctx.Err() == context.DeadlineExceeded {
		if errOut != nil {
			fmt.Fprintf(errOut, "exec: command stopped after %s (the local node agent's cap)\n", e.limit)
		}
		return exitCode(124)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitCode(exitErr.ExitCode())
	}
	if err != nil {
		if errOut != nil {
			fmt.Fprintf(errOut, "exec: %v\n", err)
		}
		return exitCode(127) // not found or not executable, as a shell answers
	}
	return nil
}

// exitCode is a command's non-zero exit status in the shape ServeExec reports to the client.
type exitCode int

var _ utilexec.ExitError = exitCode(0)

func (c exitCode) Error() string   { return fmt.Sprintf("exit status %d", int(c)) }
func (c exitCode) String() string  { return c.Error() }
func (c exitCode) Exited() bool    { return true }
func (c exitCode) ExitStatus() int { return int(c) }
