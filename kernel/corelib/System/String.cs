using System.Runtime.CompilerServices;

namespace System
{
    /// <summary>
    /// UTF-16 text. Only literals exist freestanding (ilc freezes them into the image); there is
    /// no concatenation, formatting or allocation of new strings. Layout is a contract with ilc:
    /// the length field must be named <c>_stringLength</c> and the first character
    /// <c>_firstChar</c> (object: [MethodTable*][int length][char data...]).
    /// </summary>
    public sealed class String
    {
#pragma warning disable 0169, 0649
        private readonly int _stringLength;
        private char _firstChar;
#pragma warning restore 0169, 0649

        /// <summary>The empty string literal.</summary>
        public static readonly string Empty = "";

        /// <summary>Number of UTF-16 code units.</summary>
        public int Length => _stringLength;

        /// <summary>The code unit at <paramref name="index"/>; panics when out of range.</summary>
        [IndexerName("Chars")]
        public char this[int index]
        {
            get
            {
                if ((uint)index >= (uint)_stringLength) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowIndexOutOfRangeException();
                return Unsafe.Add(ref _firstChar, (nint)(uint)index);
            }
        }

        /// <summary>For <c>fixed (char* p = s)</c>.</summary>
        public ref readonly char GetPinnableReference() => ref _firstChar;

        /// <summary>Ordinal equality.</summary>
        public static bool Equals(string a, string b)
        {
            if ((object)a == (object)b) return true;
            if ((object)a == null || (object)b == null) return false;
            if (a._stringLength != b._stringLength) return false;
            for (int i = 0; i < a._stringLength; i++)
                if (Unsafe.Add(ref a._firstChar, (nint)i) != Unsafe.Add(ref b._firstChar, (nint)i)) return false;
            return true;
        }

        /// <summary>Ordinal equality.</summary>
        public bool Equals(string other) => Equals(this, other);

        /// <inheritdoc/>
        public override bool Equals(object obj) => obj is string s && Equals(this, s);

        /// <summary>FNV-1a over the code units (stable, not randomised).</summary>
        public override int GetHashCode()
        {
            uint h = 2166136261;
            for (int i = 0; i < _stringLength; i++) h = (h ^ Unsafe.Add(ref _firstChar, (nint)i)) * 16777619;
            return (int)h;
        }

        public static bool operator ==(string a, string b) => Equals(a, b);
        public static bool operator !=(string a, string b) => !Equals(a, b);

        /// <summary>The characters as a span (no copy).</summary>
        public static implicit operator ReadOnlySpan<char>(string value) =>
            (object)value == null ? default : new ReadOnlySpan<char>(ref value._firstChar, value._stringLength);
    }
}
