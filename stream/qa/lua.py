"""Lua shared by the Q&A scripts: filling the live values into a prepared event payload, the
stream append, the state counts, letting a poll answer in."""

from __future__ import annotations

# splice(text, mark, value): every quoted ``"mark"`` in ``text`` replaced by ``value`` (raw).
# The marks come with the payload (:class:`stream.qa.model.Marks`): fresh, never user text.
SPLICE = """
local function splice(text, mark, value)
  local quoted = '"' .. mark .. '"'
  local i, j = string.find(text, quoted, 1, true)
  while i do
    text = string.sub(text, 1, i - 1) .. value .. string.sub(text, j + 1)
    i, j = string.find(text, quoted, i + #value, true)
  end
  return text
end
local function xadd(stream, maxlen, public, moderator)
  local fields = {}
  if public ~= '' then fields[#fields + 1] = 'd'; fields[#fields + 1] = public end
  if moderator ~= '' then fields[#fields + 1] = 'm'; fields[#fields + 1] = moderator end
  return redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(fields))
end
-- The session's count of questions in each state (:func:`stream.qa.keys.states_key`), moved
-- in the same call that changes a question's state.
local function move_state(counts, before, after)
  if before == after then return end
  if before then redis.call('HINCRBY', counts, before, -1) end
  if after then redis.call('HINCRBY', counts, after, 1) end
end
-- A poll answer is let in (1), or refused: no such poll (-1), not open (-2), answered before
-- (0), ``cap`` answers from the address ``tag`` already (-3; '' counts no address).
local function admit_answer(poll, answers, by_address, uid, tag, cap)
  local state = redis.call('HGET', poll, 'state')
  if not state then return -1 end
  if state ~= 'open' then return -2 end
  if redis.call('HEXISTS', answers, uid) == 1 then return 0 end
  if tag ~= '' then
    if tonumber(redis.call('HGET', by_address, tag) or '0') >= tonumber(cap) then
      return -3
    end
    redis.call('HINCRBY', by_address, tag, 1)
  end
  return 1
end
local function json_id(value)
  if value then return '"' .. value .. '"' end
  return 'null'
end
"""
