using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>What the exception dispatcher does with an exception taken in ring 3 (both architectures).</summary>
internal static unsafe class UserFaults
{
    /// <summary>
    /// An exception taken in ring 3: a page fault goes to the user memory layer for the running
    /// process's space (resolved: the access runs again); a refused fault, and every other
    /// exception, kills the process with the signal Linux would send (SIGSEGV for a refused
    /// fault, SIGKILL when no frame was left for it, SIGBUS when the store failed to read it
    /// back; <see cref="Signals.ForException"/> for the rest) after a report on the kernel log.
    /// </summary>
    public static void Handle(InterruptFrame* frame, ulong cr2)
    {
        if (Processes.Current == null) KernelPanic.Fail("cpu exception from ring 3 with no process running", frame->Vector);
        if (frame->Vector == 14)
        {
            if (DemandPaging.TryHandle(frame, cr2))
            {
                Processes.SamplePeak();
                return;
            }
            if (!DemandPaging.RefusedAt(cr2))
            {
                // The handler did not run: a reserved bit, or an address outside the space's
                // user half (the kernel's, or below user space while the kernel runs identity-mapped).
                string why = (frame->ErrorCode & 8) != 0 ? "reserved bit"
                    : cr2 >= Processes.Layout.UserEnd ? FaultKindNames.Name(FaultKind.KernelAddress) : FaultKindNames.Name(FaultKind.NoRegion);
                Processes.Kill(Signals.SIGSEGV, cr2, frame->InstructionPointer, "page fault", why);
            }
            FaultKind kind = DemandPaging.LastResult.Kind;
            int signal = kind == FaultKind.OutOfMemory ? Signals.SIGKILL : kind == FaultKind.StoreError ? Signals.SIGBUS : Signals.SIGSEGV;
            Processes.Kill(signal, cr2, frame->InstructionPointer, "page fault", FaultKindNames.Name(kind));
        }
        Processes.Kill(Signals.ForException(frame->Vector), frame->InstructionPointer, frame->InstructionPointer,
            X86Exceptions.Description(frame->Vector), X86Exceptions.Mnemonic(frame->Vector));
    }
}
