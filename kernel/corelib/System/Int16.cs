namespace System
{
    /// <summary>The primitive <c>short</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct Int16
    {
        private readonly short m_value;

        /// <summary>The largest value.</summary>
        public const short MaxValue = 32767;
        /// <summary>The smallest value.</summary>
        public const short MinValue = -32768;

        public bool Equals(short other) => m_value == other;
        public override bool Equals(object obj) => obj is short v && v == m_value;
        public int CompareTo(short other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value;
    }
}
